"""The committed notebooks show the outputs of the paper run (editnb/publish.py), and each says
which run its numbers belong to."""
import json

import nbformat
import pytest

from editnb.publish import main, outputs_mode, publish
from editnb.paths import repo_root


def notebook(cells, parameters=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    if parameters is not None:
        nb.metadata["papermill"] = {"parameters": parameters}
    return nb


def code(source, text=None, **metadata):
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    if text is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cell.execution_count = 1
    return cell


def write(path, nb):
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def committed_and_run(tmp_path, run_source="print(cfg.mode)", parameters=None):
    committed = write(tmp_path / "nb.ipynb", notebook([
        nbformat.v4.new_markdown_cell("# Lesson, reworded after the run"), code("mode = None", tags=["parameters"]),
        code("print(cfg.mode)", text="ci\n")]))
    (tmp_path / "run").mkdir()
    run = write(tmp_path / "run" / "nb.ipynb", notebook([
        nbformat.v4.new_markdown_cell("# Lesson"), code("mode = None", tags=["parameters"]),
        code('mode = "paper"', tags=["injected-parameters"]), code(run_source, text="paper\n", papermill={"duration": 2.0})],
        parameters if parameters is not None else {"mode": "paper", "dtype": "float32"}))
    return committed, run


def test_publish_copies_the_runs_outputs_keeps_the_markdown_and_drops_the_injected_parameters(tmp_path):
    committed, run = committed_and_run(tmp_path)
    assert outputs_mode(json.loads(committed.read_text())) == "ci"
    publish(run, committed)
    nb = json.loads(committed.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert sources == ["# Lesson, reworded after the run", "mode = None", "print(cfg.mode)"]
    assert "".join(nb["cells"][2]["outputs"][0]["text"]) == "paper\n"
    assert "papermill" not in nb["cells"][2]["metadata"]
    assert outputs_mode(nb) == "paper"


def test_publish_refuses_outputs_of_other_code_or_of_a_ci_run(tmp_path):
    committed, run = committed_and_run(tmp_path, run_source="print(cfg.mode, 1)")
    before = committed.read_text()
    with pytest.raises(ValueError, match=r"code cell 1 .*differs"):
        publish(run, committed)
    (tmp_path / "b").mkdir()
    committed, run = committed_and_run(tmp_path / "b", parameters={"mode": "ci"})
    with pytest.raises(ValueError, match="not a paper-mode run"):
        publish(run, committed)
    assert (tmp_path / "nb.ipynb").read_text() == before  # nothing written on refusal


def test_mode_is_printed_for_the_makefile(tmp_path, capsys):
    committed, run = committed_and_run(tmp_path)
    main(["--mode", str(committed)])
    main([str(tmp_path / "run"), str(committed)])
    main(["--mode", str(committed)])
    assert capsys.readouterr().out.splitlines()[::2] == ["ci", "paper"]


@pytest.mark.parametrize("path", sorted((repo_root() / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name[:2])
def test_each_committed_notebook_says_which_run_its_numbers_are_from(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    printed = ["".join(o.get("text", [])) for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    banners = [line for text in printed for line in text.splitlines() if line.startswith(("paper mode:", "CI mode:"))]
    assert len(banners) == 1, f"{path.name}: {len(banners)} mode lines in the outputs (nb.setup prints one)"
    assert banners[0].startswith({"paper": "paper mode:", "ci": "CI mode:"}[outputs_mode(nb)])


def test_a_checked_cell_that_prints_otherwise_in_paper_mode_is_not_published(tmp_path):
    committed, run = committed_and_run(tmp_path)
    nb = json.loads(committed.read_text())
    nb["cells"][2]["source"] = "# NBVAL_CHECK_OUTPUT\nprint(cfg.mode)"
    committed.write_text(json.dumps(nb))
    nb = json.loads(run.read_text())
    nb["cells"][3]["source"] = "# NBVAL_CHECK_OUTPUT\nprint(cfg.mode)"
    run.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="code cell 1 is checked by nbval but prints otherwise"):
        publish(run, committed)
    nb["cells"][3]["outputs"][0]["text"] = "ci\n"  # the same text: published
    run.write_text(json.dumps(nb))
    publish(run, committed)
    assert outputs_mode(json.loads(committed.read_text())) == "paper"
