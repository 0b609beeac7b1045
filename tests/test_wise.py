"""WISE on tiny models: routing, the margin terms, shards and TIES, edit-parallel equivalence, restore."""
import math

import pytest
import torch

from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.editors.memory.wise import (SideMemory, WISE, positive_mean, routing_trace, shard_mask, ties_merge,
                                        wise_layer)
from editnb.evaluate import EvalConfig, evaluate, pre_edit
from editnb.models import tiny_model

from .test_each import assert_same_rows
from .test_editors import assert_bit_identical, snapshot

CONFIG = EvalConfig(max_new_tokens=6, fluency=True, fluency_max_new_tokens=8, progress=False)
# the tiny models' activation scores are about 1 after a few steps: margins on that scale
FAST = dict(steps=25, alpha=0.5, beta=2.0, gamma=1.0)


@pytest.fixture(scope="module")
def requests():
    return load_embedded("test", n=4)


@pytest.fixture(scope="module")
def unrelated():
    return [r.prompt for r in load_embedded("train", n=24)]


def editor(unrelated, **overrides):
    return WISE(unrelated=unrelated, **(FAST | overrides))


def score_of(memory, model, tok, text, attention_mask=None):
    memory.trace = []
    with torch.no_grad(), memory.call(None, attention_mask):
        ids = tok(text, return_tensors="pt")
        model(**ids)
    trace, memory.trace = memory.trace, None
    return trace


def test_routing_sends_the_edit_to_the_side_memory_and_an_unrelated_prompt_to_the_main_one(requests, unrelated):
    model, tok = tiny_model("llama")
    with editor(unrelated, steps=40).apply(model, tok, requests[:1]) as edited:
        memory = edited.module.hook
        (_, inside, chosen_in), = score_of(memory, model, tok, requests[0].prompt + " " + requests[0].target_new)
        (_, outside, chosen_out), = score_of(memory, model, tok, unrelated[-1])
        threshold = memory.min_acts[0] * memory.act_ratio
    assert chosen_in == 0 and inside >= threshold  # the edit: side memory
    assert chosen_out == -1 and outside < threshold  # a train prompt it was not trained against: main memory
    assert unrelated[-1] not in WISE(unrelated=unrelated, **FAST).unrelated_for(requests[0])


def test_a_score_ignores_padding(requests, unrelated):
    model, tok = tiny_model("llama")
    with editor(unrelated, steps=5).apply(model, tok, requests[:1]) as edited:
        memory = edited.module.hook
        a = torch.randn(2, 5, memory.module.in_features)
        main = memory.module(a)
        extra = memory.extra(a, torch.tensor([0, 0]))
        mask = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])
        scores = memory.scores(main, extra, mask)
        alone = memory.scores(main[1:, 2:], extra[1:, 2:], None)
    torch.testing.assert_close(scores[1:], alone)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_edit_lowers_the_target_nll_and_restores_bit_for_bit(requests, unrelated, arch):
    model, tok = tiny_model(arch)
    saved = snapshot(model)
    wise = editor(unrelated)
    pre = pre_edit(model, tok, requests[:2], CONFIG)
    before = evaluate(model, tok, requests[:2], pre=pre, config=CONFIG)
    with wise.apply(model, tok, requests[:2]) as edited:
        assert len(edited.steps) == 2 and len(edited.module.hook.deltas) == 1  # one shard holds both
        after = evaluate(edited, tok, requests[:2], pre=pre, config=CONFIG)
        assert_bit_identical(model, saved)  # the weights are never written
    nll = lambda rows: [r["probes"][0]["nll"] for r in rows if r["protocol"] == "teacher_forced"]
    assert all(a < b - 0.5 for a, b in zip(nll(after), nll(before))), (nll(before), nll(after))
    assert_bit_identical(model, saved)
    module = model.get_submodule(f"{'transformer.h' if arch == 'gpt2' else 'model.layers'}.{wise_layer(model, wise.hparams)}")
    assert not any(m._forward_hooks for m in module.modules())  # the side memory is gone


def test_only_the_shard_mask_trains_and_the_box_holds(requests, unrelated):
    model, tok = tiny_model("llama")
    with editor(unrelated, norm_constraint=0.01, mask_ratio=0.3).apply(model, tok, requests[:1]) as edited:
        delta = edited.module.hook.deltas[0]
        mask = shard_mask(delta.shape, 0.3, 0, 0)
    assert bool((delta[mask == 0] == 0).all()) and bool((delta[mask == 1] != 0).any())
    assert float(delta.abs().max()) <= 0.01 + 1e-7


def test_full_shards_are_kept_and_merged_by_ties(requests, unrelated):
    model, tok = tiny_model("gpt2")
    with editor(unrelated, steps=3, shard_size=1, merge_shards=2).apply(model, tok, requests[:3]) as edited:
        memory = edited.module.hook
        # edits 1 and 2 filled shards 0 and 1, merged into memory 0; edit 3 filled shard 2, kept as memory 1
        assert len(memory.deltas) == 2 and edited.shards == 3 and edited.current is None
        assert memory.min_acts[0] < math.inf and memory.min_acts[1] < math.inf


def test_ties_merge_keeps_the_largest_entries_of_the_elected_sign():
    a = torch.tensor([3.0, -1.0, 0.1, 2.0])
    b = torch.tensor([1.0, -2.0, -0.2, -4.0])
    merged = ties_merge([a, b], density=0.5)  # a keeps 3, 2; b keeps -2, -4
    # entry 0: only a's 3 kept; entry 1: only b's -2; entry 2: nothing kept; entry 3: 2 - 4 < 0 elects -, b's -4
    assert merged.tolist() == [3.0, -2.0, 0.0, -4.0]


def test_positive_mean_averages_only_the_violated_margins():
    assert float(positive_mean(torch.tensor([-1.0, 2.0, 4.0]))) == 3.0
    assert float(positive_mean(torch.tensor([-1.0, -2.0]))) == 0.0


def test_each_equals_one_at_a_time(requests, unrelated):
    model, tok = tiny_model("qwen2")
    saved = snapshot(model)
    wise = editor(unrelated, stop_loss=100.0, stop_change=0.05)  # the tiny-model losses level off at different steps
    pre = pre_edit(model, tok, requests, CONFIG)
    singles, steps, deltas = [], [], []
    for r in requests:
        with wise.apply(model, tok, [r]) as edited:
            singles += evaluate(edited, tok, [r], pre=pre, config=CONFIG)
            steps += edited.steps
            deltas.append(edited.module.hook.deltas[0])
    with wise.apply_each(model, tok, requests) as each:
        assert each.steps == steps
        for k, d in enumerate(deltas):
            assert (each.module.hook.deltas[k] - d).norm() <= 1e-4 * d.norm(), k
        rows = evaluate(each, tok, requests, pre=pre, config=CONFIG)
    assert len(set(steps)) > 1 and min(steps) < FAST["steps"], steps  # early stopping was exercised
    assert_same_rows(singles, rows)
    assert_bit_identical(model, saved)


def test_generated_tokens_are_routed_one_by_one(requests, unrelated):
    model, tok = tiny_model("llama")
    with editor(unrelated, steps=40).apply(model, tok, requests[:1]) as edited:
        trace = routing_trace(edited, tok, requests[0].prompt, max_new_tokens=4)
        assert edited.module.hook.trace is None
    calls = trace["calls"]
    assert len(calls) == 4 and calls[0]["read"] == requests[0].prompt
    assert all(c["side"] == (c["score"] >= trace["threshold"]) for c in calls)
    assert len({round(c["score"], 6) for c in calls}) == 4  # each pass scored on what it read, not the prompt's decision
