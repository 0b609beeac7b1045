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
    single = plotting.bar_styles([("FT-L",), ("SERAC",), ("unedited",)])
    assert single[("FT-L",)]["color"] != single[("SERAC",)]["color"]
    # a one-element key names its editor: the workbook's colour for it; the unedited model an outlined bar
    assert single[("FT-L",)]["color"] == plotting.editor_color("FT-L") and single[("unedited",)] == plotting.UNEDITED_BAR


def test_sequential_plot_draws_the_tables_mean_and_interval(tmp_path):
    from editnb import analysis

    rows = [{"editor": "E", "n_edits": n, "ordering": o, "rewrite_acc": float(o == 0 or n == 1), "locality": 1.0}
            for n in (1, 10) for o in range(3) for _ in range(2)]
    bands = analysis.sequential_bands(rows)
    assert bands[("E", "rewrite_acc")]["low"] == [1.0, 0.0] and bands[("E", "rewrite_acc")]["high"] == [1.0, 1.0]
    # rows without a request id count one each; the interval is over them
    assert [e.n for e in bands[("E", "rewrite_acc")]["interval"]] == [6, 6]
    assert "range over orderings" in analysis.format_sequential(bands)
    fig = plotting.plot_sequential(bands, save=tmp_path / "s")
    assert [ax.get_title() for ax in fig.axes] == [plotting.SEQUENTIAL_TITLES[m] for m in ("rewrite_acc", "locality")]
    assert all(len(ax.collections) == 1 for ax in fig.axes) and "n=6 requests per point" in fig._suptitle.get_text()
    # the curve is the table's statistic, the mean over requests: (2 of 6) after 10 edits
    assert list(fig.axes[0].lines[0].get_ydata()) == pytest.approx([1.0, 1 / 3])
    assert fig.axes[0].get_ylim()[0] < 0  # a curve at 0 is drawn above the axis
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["1", "10"]  # ticks at the checkpoints
    assert (tmp_path / "s.png").is_file()


def test_histogram_panels_show_an_editor_that_changed_nothing(tmp_path):
    fig = plotting.plot_histograms({"ROME": [0, 0, 2], "GRACE": []}, xlabel="first differing token",
                                   totals={"ROME": 8, "GRACE": 8}, save=tmp_path / "h")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["ROME: 3 of 8", "GRACE: 0 of 8"]
    assert [t.get_text() for t in shown[1].texts] == ["none changed"]
    assert shown[0].patches[0].get_facecolor()[:3] == pytest.approx(plotting.editor_color("ROME")[:3])



def test_grid_and_panel_figures_print_each_value_and_n(tmp_path):
    from editnb.intervals import Estimate, estimate

    step = lambda name, mean: {"step": name, "estimate": Estimate(mean, mean, mean, 4, "wilson")}  # noqa: E731
    chain = {"ROME": [step("TF token accuracy", 0.5), step("gen. exact", 0.0)], "FT-L": [step("TF token accuracy", 0.25)]}
    fig = plotting.plot_decomposition({"rewrite": chain, "rephrase": chain}, save=tmp_path / "d")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(texts) == ["0.00", "0.25", "0.50"]  # a zero is printed, the missing step is left grey
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["ROME (n=4)", "FT-L (n=4)"]
    ctx = {(e, c): {"rewrite_prefix": estimate([1, 0, 0])} for e in ("ROME", "SERAC") for c in ("plain", "chat")}
    fig = plotting.plot_context_grid(ctx, ("rewrite_prefix",), save=tmp_path / "c")
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.33"] * 4
    by_len = {(e, b): {"teacher_forced": 0.5, "autoregressive": 0.25, "exact": 0.0, "n": 7} for e in ("ROME", "FT-L") for b in ("1", "2")}
    fig = plotting.plot_length_panels(by_len, ["FT-L", "ROME"], save=tmp_path / "l")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["FT-L", "ROME"]
    assert fig.axes[0].get_xticklabels()[0].get_text() == "1\nn=7"
    assert all((tmp_path / f"{k}.png").is_file() for k in "dcl")


def _checked_cells():
    import json

    for path in sorted((repo_root() / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for i, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
            if "NBVAL_CHECK_OUTPUT" in "".join(cell["source"]):
                yield f"{path.name} code cell {i}", cell


def test_checked_cells_compare_nothing_that_depends_on_the_machine():
    """nbval ignores a trailing ';' and compares every execute_result, so a checked cell must not
    end in a displayed expression (a returned path differs on every clone), nor store a path."""
    import ast

    cells = list(_checked_cells())
    assert len(cells) >= 10, "the NBVAL_CHECK_OUTPUT cells went missing"
    for where, cell in cells:
        last = ast.parse("".join(cell["source"])).body[-1]
        displayed = isinstance(last, ast.Expr) and not (
            isinstance(last.value, ast.Call) and getattr(last.value.func, "id", None) == "print"
        )
        assert not displayed, f"{where} ends in an expression whose value nbval would compare"
        assert all(o["output_type"] != "execute_result" for o in cell["outputs"]), where
        assert "/work/" not in str(cell["outputs"]) and str(repo_root()) not in str(cell["outputs"]), where


def test_another_model_writes_to_its_own_folders(monkeypatch):
    monkeypatch.delenv("EDITNB_OUTPUT", raising=False)
    default = nb.setup(mode="paper")
    other = nb.setup(mode="paper", model_name="meta-llama/Llama-3.2-1B")
    local = nb.setup(mode="ci", model_name="/tmp/models/tiny-llama/")
    assert default.results_dir == repo_root() / "results" and default.model_name is None
    assert other.results_dir == repo_root() / "results" / "Llama-3.2-1B"
    assert other.figures_dir == repo_root() / "figures" / "Llama-3.2-1B"
    assert local.figures_dir == repo_root() / "build" / "ci" / "figures" / "tiny-llama"
    with pytest.raises(ValueError, match="cannot name an output folder"):
        nb.setup(model_name="..")


def test_every_editor_has_its_own_colour_in_every_figure():
    from editnb.editors import available

    colours = [plotting.editor_color(name) for name in available()]
    assert None not in colours and len(set(colours)) == len(colours)
    assert plotting.editor_color("SERAC-oracle gen. prefix") == plotting.editor_color("SERAC-oracle") != plotting.editor_color("SERAC")
    assert plotting.editor_color("unedited") is None
    styles = plotting.bar_styles([("ROME", "teacher_forced"), ("ROME", "autoregressive"), ("GRACE", "teacher_forced")])
    assert styles[("ROME", "teacher_forced")]["color"] == styles[("ROME", "autoregressive")]["color"] == plotting.editor_color("ROME")
