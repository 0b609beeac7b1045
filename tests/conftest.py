import pytest
import torch

from editnb.models import tiny_model


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where CUDA is present; elsewhere they are skipped with the reason."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA: no GPU here (tests/test_gpu.py runs where torch.cuda.is_available())")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_models():
    """One tiny model per architecture, built once for the whole run."""
    return {arch: tiny_model(arch) for arch in ("llama", "gpt2", "qwen2")}


@pytest.fixture(scope="session")
def smollm2():
    """The real default model (converted once into the cache, then ~1.5 s to load)."""
    from editnb.models import load_model

    return load_model()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
