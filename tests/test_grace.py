"""GRACE on tiny models: the codebook's rules, lookups per call, edit-parallel equivalence, restore."""
from dataclasses import replace

import pytest
import torch

from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.editors.memory.grace import Codebook, GRACE, Lookup, grace_layer, key_inputs, prompt_ends
from editnb.evaluate import EvalConfig, evaluate, pre_edit
from editnb.models import tiny_model

from .test_each import assert_same_rows
from .test_editors import assert_bit_identical, snapshot

CONFIG = EvalConfig(max_new_tokens=6, fluency=True, fluency_max_new_tokens=8, progress=False)
FAST = dict(steps=20, lr=0.1, eps_init=0.05)  # the tiny models' keys lie about 0.3 apart


@pytest.fixture(scope="module")
def requests():
    return load_embedded("test", n=4)


def projection(model, editor):
    from editnb.editors.ft import weight_name

    return model.get_submodule(weight_name(model, grace_layer(model, editor.hparams)).removesuffix(".weight"))


def test_codebook_adds_widens_and_splits():
    book = Codebook()
    zero, near, far = torch.zeros(4), torch.tensor([0.6, 0, 0, 0]), torch.tensor([9.0, 0, 0, 0])
    assert book.write(zero, [1, 2], 1.0, lambda: torch.ones(3)) == 0
    assert book.write(near, [1, 2], 1.0, lambda: torch.ones(3)) == 0  # same label, inside reach: widened
    assert book.radii == [1.0] and len(book) == 1
    assert book.write(torch.tensor([1.5, 0, 0, 0]), [1, 2], 1.0, lambda: torch.ones(3)) == 0
    assert book.radii == [1.5]  # widened to the query
    assert book.write(far, [1, 2], 1.0, lambda: torch.ones(3)) == 1  # beyond reach: a new entry
    split = book.write(torch.tensor([1.0, 0, 0, 0]), [7], 1.0, lambda: torch.ones(3))  # another label within reach
    assert split == 2 and book.radii[0] == pytest.approx(0.5 - 1e-5) and book.radii[2] == pytest.approx(0.5)
    assert book.labels == [(1, 2), (1, 2), (7,)]  # labels stay aligned with their keys


def test_prompt_end_is_read_from_the_labels_of_each_row():
    labels = torch.tensor([[-100, -100, -100, 5, 6], [-100, -100, -100, -100, 7], [-100] * 5])
    assert prompt_ends(labels).tolist() == [2, 3, 4]


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_inside_the_radius_the_value_outside_the_original_output(requests, arch):
    model, tok = tiny_model(arch)
    editor = get_editor("GRACE", **FAST)
    module = projection(model, editor)
    r = requests[0]
    keys, outputs = key_inputs(model, tok, module, [r.prompt, requests[1].prompt])
    book = Codebook()
    book.add(keys[0], torch.full_like(outputs[0], 3.0), 1e-3, [1])
    lookup = Lookup(module, book, "last")
    seen = []
    handle = module.register_forward_hook(lambda m, args, out: seen.append(out[0, -1].detach().clone()))  # after the lookup
    try:
        with torch.no_grad():
            for prompt in (r.prompt, requests[1].prompt):
                model(**tok(prompt, return_tensors="pt"))
    finally:
        handle.remove()
        lookup.remove()
    assert torch.equal(seen[0], torch.full_like(outputs[0], 3.0))  # within the radius: the stored value
    torch.testing.assert_close(seen[1], outputs[1])  # outside: the projection's own output
    assert (keys[1] - keys[0]).norm() > 1e-3


@pytest.mark.parametrize("mode", ["last", "prompt"])
def test_edit_makes_the_target_and_restores_bit_for_bit(requests, mode):
    model, tok = tiny_model("llama")
    saved = snapshot(model)
    editor = get_editor("GRACE", **FAST, mode=mode)
    pre = pre_edit(model, tok, requests[:2], CONFIG)
    before = evaluate(model, tok, requests[:2], pre=pre, config=CONFIG)
    with editor.apply(model, tok, requests[:2]) as edited:
        assert len(edited.module.hook.codebook) == 2 and len(edited.steps) == 2
        after = evaluate(edited, tok, requests[:2], pre=pre, config=CONFIG)
        assert_bit_identical(model, saved)  # the weights are never written
    # a random tiny model cannot be steered far by one vector; its target NLL still falls clearly
    nll = lambda rows: [r["probes"][0]["nll"] for r in rows if r["protocol"] == "teacher_forced"]
    assert all(a < b - 0.5 for a, b in zip(nll(after), nll(before))), (nll(before), nll(after))
    assert_bit_identical(model, saved)
    assert not projection(model, editor)._forward_hooks  # the lookup is gone


def test_the_key_position_is_never_kept_from_the_last_edit(requests):
    """EasyEdit keeps the last edit's prompt length for later forward passes; here an unrelated
    prompt of another length is looked up at its own last token."""
    model, tok = tiny_model("llama")
    editor = get_editor("GRACE", **FAST)
    with editor.apply(model, tok, requests[:1]) as edited:
        lookup = edited.module.hook
        lookup.trace = []
        ids = tok(requests[3].prompt + " and more words here", return_tensors="pt")
        with torch.no_grad():
            edited(**ids)
        assert [(row, col) for row, col, *_ in lookup.trace] == [(0, ids["input_ids"].shape[1] - 1)]


def test_each_equals_one_at_a_time(requests):
    model, tok = tiny_model("qwen2")
    saved = snapshot(model)
    editor = get_editor("GRACE", **FAST, stop_nll=5.6)  # three of the four tiny-model edits get there, at different steps
    pre = pre_edit(model, tok, requests, CONFIG)
    singles, steps, values = [], [], []
    for r in requests:
        with editor.apply(model, tok, [r]) as edited:
            singles += evaluate(edited, tok, [r], pre=pre, config=CONFIG)
            steps += edited.steps
            values.append(edited.module.hook.codebook.values[0])
    with editor.apply_each(model, tok, requests) as each:
        assert each.steps == steps
        for k, v in enumerate(values):
            got = each.module.hook.codebook.values[k]
            assert (got - v).norm() <= 1e-3 * v.norm(), k
        rows = evaluate(each, tok, requests, pre=pre, config=CONFIG)
    assert len(set(steps)) > 1 and min(steps) < FAST["steps"], steps  # early stopping was exercised
    assert_same_rows(singles, rows)
    assert_bit_identical(model, saved)


def test_a_second_edit_of_another_label_splits_instead_of_overwriting(requests):
    model, tok = tiny_model("gpt2")
    editor = get_editor("GRACE", **(FAST | dict(eps_init=1e6)))  # every key within reach of every other
    first = requests[0]
    other = replace(first, id="other", target_new=first.target_new + " Smith")
    with editor.apply(model, tok, [first, other]) as edited:
        book = edited.module.hook.codebook
        assert len(book) == 2 and book.labels[0] != book.labels[1]
        assert book.radii[0] < 1e-4 and book.radii[1] < 1e-4  # the same prompt: the gap halved to nothing


def test_lookup_trace_follows_generation_token_by_token(requests):
    from editnb.editors.memory.grace import lookup_trace

    model, tok = tiny_model("llama")
    with get_editor("GRACE", **FAST).apply(model, tok, requests[:1]) as edited:
        trace = lookup_trace(edited, tok, requests[0].prompt, max_new_tokens=4)
        assert edited.module.hook.trace is None  # recording stops with the call
    lookups = trace["lookups"]
    assert len(lookups) == 4 and isinstance(trace["generated"], str)
    assert lookups[0]["hit"] and lookups[0]["distance"] == 0.0  # the edit's own prompt: its own key
    assert all(not row["hit"] for row in lookups[1:])  # generated tokens' keys lie outside the tiny radius
