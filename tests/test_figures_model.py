"""``make figures MODEL=<folder>``: the workbook on another model, through the Makefile's own
papermill call, writing to that model's folders (CI mode; notebook 01, the one whose cells
every model can run in seconds)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from editnb.models import tiny_model
from editnb.paths import repo_root


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_figures_on_a_local_model_writes_to_its_own_folder(tmp_path):
    model, tok = tiny_model("llama")
    folder = tmp_path / "tiny-llama"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    env = dict(os.environ, EDITNB_OUTPUT=str(tmp_path / "out"), EDITNB_PROGRESS="0")
    notebook = "notebooks/01_nll_derivation.ipynb"
    done = subprocess.run(["make", "--no-print-directory", "figures", f"MODEL={folder}", "MODE=ci", f"NOTEBOOKS={notebook}",
                           f"BUILD={tmp_path / 'build'}"], cwd=repo_root(), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = tmp_path / "out" / "figures" / "tiny-llama"
    assert sorted(p.name for p in figures.iterdir()) == ["01_paris_vs_rome.pdf", "01_paris_vs_rome.png"]
    executed = (tmp_path / "build" / "notebooks-tiny-llama" / "01_nll_derivation.ipynb").read_text()
    assert "model=tiny-llama" in executed  # the notebook loaded the model it was given
    assert not (Path(tmp_path / "out" / "figures") / "01_paris_vs_rome.png").exists()
