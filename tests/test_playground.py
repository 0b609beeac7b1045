"""The edit playground's logic (notebook 06 only lays out widgets around it)."""
import pytest
import torch

from editnb import experiments, playground
from editnb.editors import available
from editnb.models import tiny_model

from editnb.editors.serac import SERAC, SERACOracle

from .helpers import assert_bit_identical, snapshot
from .test_editors import serac_parts


def fact():
    return playground.make_request("The capital of France is", "Rome", subject="France",
                                   rephrases=["France's capital city is"], locality=[("The capital of Japan is", "Tokyo")])


def test_make_request_needs_a_prompt_a_target_and_a_subject_in_the_prompt():
    with pytest.raises(ValueError, match="prompt and a new target"):
        playground.make_request("  ", "Rome", subject="France")
    with pytest.raises(ValueError, match="must occur in the prompt"):
        playground.make_request("The capital of France is", "Rome", subject="Spain")
    r = fact()
    assert r.subject == "France" and r.rephrase_prompts == ["France's capital city is"] and r.locality[0].target == "Tokyo"


def test_the_app_keeps_the_picked_facts_probes():
    picked = fact()
    assert playground.request_from(picked, picked.prompt, "Rome", "France") is picked
    retargeted = playground.request_from(picked, picked.prompt, "Madrid", "France")
    assert retargeted.target_new == "Madrid" and retargeted.rephrase_prompts == picked.rephrase_prompts
    typed = playground.request_from(picked, "Paris is the capital of", "Italy", "Paris")
    assert typed.subject == "Paris" and typed.rephrase_prompts == [] and typed.locality == picked.locality


def test_an_edit_is_compared_before_and_after_and_restored_bit_for_bit():
    model, tok = tiny_model("llama")
    saved = snapshot(model)
    play = playground.Playground(model, tok, "ci")
    c = play.edit("FT-M", fact(), lr=5e-2, steps=30)
    assert [a.role for a in c.before] == [a.role for a in c.after] == ["rewrite", "rephrase", "locality"]
    assert c.after[0].teacher_forced > c.before[0].teacher_forced  # the edit took
    assert c.hparams == {"lr": 5e-2, "steps": 30}
    text, page = playground.comparison_text(c), playground.comparison_html(c)
    assert c.after[0].generated in page and "rewrite" in text and "<table" in page
    assert play.restore() and not play.restore()
    assert_bit_identical(model, saved)
    again = play.edit("FT-M", fact())  # no settings: the defaults again, not the last edit's
    assert again.hparams == playground.main_hparams("FT-M", "ci") != c.hparams
    play.restore()


def test_the_outcome_of_an_edit_is_counted_from_its_comparison():
    def answer(role, generated, prefix=False, exact=False, agrees=None):
        return playground.Answer(role, "p", "t", 0.0, generated, prefix, exact, agrees, None if agrees is None else float(agrees))

    before = [answer("rewrite", " Paris"), answer("rephrase", " Paris"), answer("rephrase", " Rome", True),
              answer("locality", " Tokyo", agrees=True), answer("locality", " Kyoto", agrees=True)]
    after = [answer("rewrite", " Rome", True, True), answer("rephrase", " Rome", True, True), answer("rephrase", " Rome", True),
             answer("locality", " Tokyo", agrees=True), answer("locality", " Rome", agrees=False)]
    c = playground.Comparison("FT-M", fact(), before, after, hparams={"lr": 0.05})
    assert playground.outcome(c) == ("FT-M (lr=0.05): the prompt's generated answer went from ' Paris' to ' Rome' (exact); "
                                     "rephrasings saying the new target first: 1 of 2 before, 2 of 2 after; "
                                     "locality probes answered as before: 1 of 2.")


@pytest.mark.parametrize("name", available())
def test_every_registered_editor_runs_in_the_playground(name, tmp_path, monkeypatch):
    """Each editor, CI budgets, on a tiny model: an edit, a comparison of the three probe roles,
    SERAC's scope information, and the model bit-identical after restore."""
    monkeypatch.setenv("EDITNB_CACHE", str(tmp_path))
    model, tok = tiny_model("llama")
    saved = snapshot(model)
    play = playground.Playground(model, tok, "ci")
    if name.startswith("SERAC"):  # untrained tiny components stand in for SERAC's trained ones
        _, _, cf, classifier = serac_parts("llama")
        hp = experiments.make_editor(name, "ci").hparams  # the settings the playground asks for: it keeps this editor
        play.prepared[name] = (SERAC if name == "SERAC" else SERACOracle)(hp, components=(cf, classifier))
    defaults = playground.main_hparams(name, "ci")
    assert set(defaults) == set(playground.MAIN_HPARAMS[name])
    c = play.edit(name, fact())
    assert len(c.before) == len(c.after) == 3
    assert (c.scope is not None) == name.startswith("SERAC")
    if c.scope is not None:
        assert [x["prompt"] for x in c.scope] == [a.prompt for a in c.after]
    play.restore()
    assert_bit_identical(model, saved)
