"""``make figures MODEL=<folder>``: the whole workbook on another model, through the Makefile's
own papermill calls, writing to that model's folders (CI mode).  The model is a tiny random
Llama whose tokenizer has no chat template, like a base model's (Llama-2-7b-hf, GPT-J).  To keep
the run short, the editors of notebooks 03 and 04 are narrowed to three of different kinds
(fine-tuning, locate-then-edit, memory), and SERAC's scope classifier is a tiny encoder, set
for this model by a settings file in a folder of one's own (``EDITNB_HPARAMS``), the way a
user sets any editor for a model."""
import json
import os
import shutil
import subprocess

import pytest

from editnb.models import tiny_model
from editnb.paths import repo_root
from editnb.tiny import build_tiny_encoder

EDITORS = ["FT-M", "ROME", "SERAC"]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_figures_on_a_local_model_runs_every_notebook_into_its_own_folder(tmp_path):
    model, tok = tiny_model("llama")
    folder = tmp_path / "tiny-llama"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    encoder, encoder_tok = build_tiny_encoder()
    encoder.save_pretrained(tmp_path / "encoder")
    encoder_tok.save_pretrained(tmp_path / "encoder")
    for name in ("SERAC", "SERAC-oracle"):
        (tmp_path / "hparams" / name).mkdir(parents=True)
        (tmp_path / "hparams" / name / "tiny-llama.yaml").write_text(f"classifier: {tmp_path / 'encoder'}\n")
    env = dict(os.environ, EDITNB_OUTPUT=str(tmp_path / "out"), EDITNB_PROGRESS="0", EDITNB_HPARAMS=str(tmp_path / "hparams"))
    params = f"PARAMS=-y 'editor_names: [{', '.join(EDITORS)}]'"
    done = subprocess.run(["make", "--no-print-directory", "figures", f"MODEL={folder}", "MODE=ci", params,
                           f"BUILD={tmp_path / 'build'}"], cwd=repo_root(), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    committed = sorted(p.name for p in (repo_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    executed = tmp_path / "build" / "notebooks-tiny-llama"
    assert sorted(p.name for p in executed.glob("*.ipynb")) == committed
    assert "model=tiny-llama" in (executed / committed[0]).read_text()  # the notebook loaded the model it was given
    figures = {p.stem for p in (tmp_path / "out" / "figures" / "tiny-llama").glob("*.png")}
    assert {"01_paris_vs_rome", "02_serac_training", "03_tf_vs_ar", "04_locality_definitions"} <= figures
    rows = json.loads((tmp_path / "out" / "results" / "tiny-llama" / "03_rows.json").read_text())
    assert sorted({r["editor"] for r in rows}) == sorted(EDITORS)
    assert {r["context"] for r in rows} == {"plain"} and not list((tmp_path / "out" / "figures").glob("*.png"))
