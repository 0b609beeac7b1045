import random

import numpy as np
import pytest
import torch

from editnb import nb, plotting
from editnb.paths import repo_root


def test_setup_seeds_everything_and_reads_mode(monkeypatch):
    monkeypatch.delenv("EDITNB_MODE", raising=False)
    monkeypatch.delenv("EDITNB_OUTPUT", raising=False)
    cfg = nb.setup(seed=7)
    draws = (random.random(), np.random.rand(), torch.rand(1).item())
    nb.setup(seed=7)
    assert draws == (random.random(), np.random.rand(), torch.rand(1).item())
    assert cfg.mode == "ci" and not cfg.paper and cfg.pick(ci=1, paper=2) == 1
    assert cfg.figures_dir == repo_root() / "build" / "ci" / "figures"
    monkeypatch.setenv("EDITNB_MODE", "paper")
    paper = nb.setup()
    assert paper.paper and paper.figures_dir == repo_root() / "figures"


def test_setup_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        nb.setup(mode="fast")


def test_save_figure_writes_png_and_pdf_reproducibly(tmp_path):
    from editnb.plotting import plot_token_log_probs

    rows = {" Paris": (["ĠParis"], [-0.5]), " Rome": (["ĠRome"], [-4.0])}
    plot_token_log_probs(rows, save=tmp_path / "a")
    plot_token_log_probs(rows, save=tmp_path / "b")
    for ext in ("png", "pdf"):
        a, b = (tmp_path / f"a.{ext}").read_bytes(), (tmp_path / f"b.{ext}").read_bytes()
        assert len(a) > 1000 and a == b


def test_bar_styles_pair_an_editors_protocols():
    keys = [("FT-L", "teacher_forced"), ("FT-L", "autoregressive"), ("SERAC", "teacher_forced"), ("SERAC", "autoregressive")]
    styles = plotting.bar_styles(keys)
    assert styles[keys[0]]["color"] == styles[keys[1]]["color"] != styles[keys[2]]["color"]
    assert styles[keys[0]]["hatch"] == styles[keys[2]]["hatch"] != styles[keys[1]]["hatch"]
    single = plotting.bar_styles([("FT-L",), ("SERAC",)])
    assert single[("FT-L",)]["color"] != single[("SERAC",)]["color"]
