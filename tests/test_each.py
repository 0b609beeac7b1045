"""Edit-parallel single edits (``apply_each``) against the same edits made one at a time.

Tolerance on edited weights: a batched matmul sums in another order than a single one, so
activations differ in the last float32 bits (about 1e-7 relative); Adam divides each step by
the root of its running squared gradient, which turns a near-zero gradient's rounding noise
into a step of up to ``lr`` in the odd coordinate.  So we bound the whole difference tightly
and single coordinates loosely: ||W_each - W_single|| under 1e-3 of ||W_single - W_base||
(Frobenius; measured at most 8e-5 on these models), every coordinate within 5% of the largest
change (measured at most 1.4%, one coordinate of 49k), the same early-stopping step, and
identical verdicts and generated texts.
"""
from dataclasses import replace

import pytest
import torch

from editnb import experiments
from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.editors.ft import weight_name
from editnb.editors.serac import SERAC, SeracHParams
from editnb.evaluate import EvalConfig, evaluate, pre_edit
from editnb.evaluate.reference import evaluate_reference
from editnb.models import tiny_model

from .test_editors import assert_bit_identical, serac_parts, snapshot

CONFIG = EvalConfig(max_new_tokens=6, fluency=True, fluency_max_new_tokens=8, progress=False)
# chosen so that some edits stop early and at different steps (the assertion below checks it)
FT = {"FT-L": dict(steps=30, lr=2e-3, norm_constraint=2e-2, stop_nll=4.0), "FT-M": dict(steps=30, lr=5e-3, stop_nll=4.0)}
SCORES = ("rewrite_acc", "rephrase_acc", "locality", "portability", "fluency")
VERDICTS = ("text", "prefix", "exact", "contains", "acc", "exact_match", "agreement")


@pytest.fixture(scope="module")
def requests():
    return load_embedded("test", n=5)


def one_at_a_time(editor, model, tok, requests, pre):
    weights, steps, rows = [], [], []
    name = weight_name(model, editor.hparams.layer) if hasattr(editor.hparams, "layer") else None
    for r in requests:
        with editor.apply(model, tok, [r]) as edited:
            if name:
                weights.append(dict(model.named_parameters())[name].detach().clone())
                steps += edited.steps
            rows += evaluate(edited, tok, [r], pre=pre, config=CONFIG)
    return weights, steps, rows


def assert_same_rows(single, each):
    assert [(r["id"], r["protocol"]) for r in single] == [(r["id"], r["protocol"]) for r in each]
    for a, b in zip(single, each):
        for key in SCORES:
            assert a[key] == pytest.approx(b[key], abs=1e-9), (a["id"], a["protocol"], key)
        for pa, pb in zip(a["probes"], b["probes"]):
            for key in VERDICTS:
                assert pa.get(key) == pb.get(key), (a["id"], pa["prompt"], key)


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
@pytest.mark.parametrize("name", ["FT-L", "FT-M"])
def test_ft_each_equals_one_at_a_time(requests, arch, name):
    model, tok = tiny_model(arch)
    saved = snapshot(model)
    pre = pre_edit(model, tok, requests, CONFIG)
    editor = get_editor(name, **FT[name])
    weights, steps, single = one_at_a_time(editor, model, tok, requests, pre)
    with editor.apply_each(model, tok, requests, group=3, batch_size=2) as edited:  # two groups, padded batches
        assert edited.each and len(edited.requests) == len(requests)
        assert_bit_identical(model, saved)  # the base weight is never written
        assert edited.steps == steps
        base_weight = saved[weight_name(model, None)]
        for k, w in enumerate(weights):
            change, diff = w - base_weight, edited.deltas.weight(k) - w
            assert change.abs().max() > 0
            assert diff.norm() < 1e-3 * change.norm(), k
            assert diff.abs().max() < 5e-2 * change.abs().max(), k
        each = evaluate(edited, tok, requests, pre=pre, config=CONFIG)
    assert len(set(steps)) > 1 and min(steps) < FT[name]["steps"], steps  # early stopping was exercised
    assert_same_rows(single, each)
    assert_bit_identical(model, saved)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_serac_each_equals_one_at_a_time(requests, arch):
    base, tok, cf, classifier = serac_parts(arch)
    saved = snapshot(base)
    editor = SERAC(SeracHParams(), components=(cf, classifier))
    pre = pre_edit(base, tok, requests, CONFIG)
    with editor.apply_each(base, tok, requests) as edited:
        # an untrained classifier: put the threshold at the median score so both routes are taken
        prompts = [p for r in requests for p in [r.prompt, *r.rephrase_prompts, *(q.prompt for q in r.locality)]]
        ids = [k for k, r in enumerate(requests) for _ in [r.prompt, *r.rephrase_prompts, *r.locality]]
        scores, _ = edited.module.memory.lookup_each(prompts, ids)
        threshold = scores.median().item()
        assert (scores > threshold).any() and (scores <= threshold).any()  # both routes are exercised
        edited.module.threshold = threshold
        each = evaluate(edited, tok, requests, pre=pre, config=CONFIG)
    editor = SERAC(SeracHParams(threshold=threshold), components=(cf, classifier))
    _, _, single = one_at_a_time(editor, base, tok, requests, pre)
    assert_same_rows(single, each)
    assert_bit_identical(base, saved)


def test_each_matches_the_one_row_reference(requests):
    """Batched, cached evaluation of separate edits equals one unpadded row per call."""
    model, tok = tiny_model("llama")
    pre = pre_edit(model, tok, requests, CONFIG)
    with get_editor("FT-M", **FT["FT-M"]).apply_each(model, tok, requests) as edited:
        assert_same_rows(evaluate_reference(edited, tok, requests, pre=pre, config=CONFIG),
                         evaluate(edited, tok, requests, pre=pre, config=CONFIG))


def test_rows_are_required_and_checked(requests):
    model, tok = tiny_model("llama")
    ids = torch.tensor([[1, 2, 3]])
    with get_editor("FT-M", steps=1).apply_each(model, tok, requests[:2]) as edited:
        with pytest.raises(RuntimeError, match="inside edited.rows"):
            edited(input_ids=ids)
        with pytest.raises(ValueError, match="index the 2 edits"):
            with edited.rows([2]):
                pass
        with pytest.raises(ValueError, match="1 edit ids for a batch of 2 rows"):
            with edited.rows([0]):
                edited(input_ids=ids.repeat(2, 1))
        with pytest.raises(KeyError, match="not in any of this model.s 2 separate edits"):
            evaluate(edited, tok, requests[2:3], config=CONFIG)
    plain = get_editor("FT-M", steps=1).apply(model, tok, requests[:1])
    with pytest.raises(TypeError, match="apply_each"):
        plain.rows([0])
    plain.restore()


def test_rows_of_one_edit_see_only_that_edit(requests):
    """Two edits in one batch: each row's logits equal those of its edit applied alone."""
    model, tok = tiny_model("gpt2")
    x = torch.tensor([[5, 6, 7, 8]])
    with get_editor("FT-M", **FT["FT-M"]).apply_each(model, tok, requests[:2]) as edited:
        with edited.rows([1, 0]), torch.no_grad():
            both = edited(input_ids=x.repeat(2, 1)).logits
        with edited.rows([0]), torch.no_grad():
            first = edited(input_ids=x).logits
    assert not torch.allclose(both[0], both[1])
    torch.testing.assert_close(both[1], first[0])


@pytest.mark.parametrize("name", ["FT-M", "SERAC"])
def test_each_on_a_model_dispatched_by_accelerate(requests, tmp_path, name):
    """The path a large model on several devices takes: a device_map with the edited block offloaded
    to disk (its weights live on the meta device between calls).  Same edits and rows as in memory."""
    from accelerate import dispatch_model

    def run(model, tok, cf=None, classifier=None):
        editor = (SERAC(SeracHParams(), components=(cf, classifier)) if name == "SERAC"
                  else get_editor(name, **FT[name]))
        pre = pre_edit(model, tok, requests, CONFIG)
        with editor.apply_each(model, tok, requests) as edited:
            deltas = edited.deltas.deltas.clone() if name != "SERAC" else None
            return evaluate(edited, tok, requests, pre=pre, config=CONFIG), deltas

    base, tok, cf, classifier = serac_parts("llama")
    expected, deltas = run(base, tok, cf, classifier)
    layout = {"model.embed_tokens": "cpu", "model.layers.0": "cpu", "model.layers.1": "disk", "model.layers.2": "disk",
              "model.layers.3": "cpu", "model.norm": "cpu", "model.rotary_emb": "cpu", "lm_head": "cpu"}
    dispatched = dispatch_model(tiny_model("llama")[0], device_map=layout, offload_dir=str(tmp_path))
    assert dict(dispatched.named_parameters())["model.layers.2.mlp.down_proj.weight"].device.type == "meta"
    got, got_deltas = run(dispatched, tok, cf, classifier)
    if deltas is not None:
        torch.testing.assert_close(got_deltas, deltas, rtol=0, atol=1e-6)
    assert_same_rows(expected, got)


def tagged_orders(requests):
    """Two orders of three edits, each request's id tagged with its order (as sequential_curves does)."""
    orders = [requests[:3], [requests[4], requests[2], requests[0]]]
    return [[replace(r, id=f"{r.id}@{i}") for r in order] for i, order in enumerate(orders)]


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
@pytest.mark.parametrize("name", ["FT-L", "FT-M"])
def test_ft_streams_equal_sequential_edits(requests, arch, name):
    """Streams side by side, continued across two calls, against each order applied with sequential=True:
    the same steps per edit and the weights within the tolerance above (FT-L's ball is around the
    weight before each edit, so a stream may move further than one edit's radius)."""
    model, tok = tiny_model(arch)
    saved = snapshot(model)
    editor, name_w = get_editor(name, **FT[name]), weight_name(model, None)
    orders = tagged_orders(requests)
    weights, steps = [], []
    for order in orders:
        with editor.apply(model, tok, order, sequential=True) as edited:
            weights.append(dict(model.named_parameters())[name_w].detach().clone())
            steps.append(edited.steps)
    edited = editor.apply_streams(model, tok, [order[:1] for order in orders])
    edited = editor.apply_streams(edited, tok, [order[1:] for order in orders])
    assert edited.stream_steps == steps and edited.slots == orders
    assert [edited.edit_index(r) for r in orders[1]] == [1, 1, 1]
    assert_bit_identical(model, saved)
    for k, w in enumerate(weights):
        change, diff = w - saved[name_w], edited.deltas.weight(k) - w
        assert diff.norm() < 1e-3 * change.norm(), k
        assert diff.abs().max() < 5e-2 * change.abs().max(), k
    if name == "FT-L":
        assert max((w - saved[name_w]).abs().max() for w in weights) > FT[name]["norm_constraint"] * 1.01
    with pytest.raises(ValueError, match="as many streams"):
        editor.apply_streams(edited, tok, [orders[0][:1]])
    edited.restore()
    assert_bit_identical(model, saved)


def test_sequential_curves_side_by_side_equal_one_order_after_another(requests):
    model, tok = tiny_model("llama")
    editor = get_editor("FT-M", **FT["FT-M"])
    orders = [requests[:3], [requests[4], requests[2], requests[0]]]
    pre = pre_edit(model, tok, requests, CONFIG)
    side_by_side = experiments.sequential_curves(editor, model, tok, orders, (1, 3), config=CONFIG, pre=pre, evaluate_at_most=2)
    one_after_another = [dict(row, ordering=i) for i, order in enumerate(orders)
                         for row in experiments.sequential_curve(editor, model, tok, order, (1, 3), config=CONFIG, pre=pre,
                                                                 evaluate_at_most=2)]
    key = lambda r: (r["ordering"], r["n_edits"], r["id"], r["protocol"])
    assert sorted(map(key, side_by_side)) == sorted(map(key, one_after_another))
    assert_same_rows(sorted(one_after_another, key=key), sorted(side_by_side, key=key))


def test_load_model_with_a_device_map_edits_and_restores(requests, tmp_path):
    """``load_model(..., device_map=..., offload_folder=...)``, the path of a 7B model on GPUs with
    accelerate, here on the CPU with two blocks offloaded to disk: an edit of a block kept on a
    device gives the rows of the same weights loaded plainly, restore gives back the model's
    outputs bit for bit, and an in-place edit of an offloaded block is refused, not lost."""
    from editnb.models import load_model

    model, tok = tiny_model("llama")
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    layout = {"model.embed_tokens": "cpu", "model.layers.0": "disk", "model.layers.1": "disk", "model.layers.2": "cpu",
              "model.layers.3": "disk", "model.norm": "cpu", "model.rotary_emb": "cpu", "lm_head": "cpu"}
    placed, placed_tok = load_model(tmp_path / "tiny", device_map=layout, offload_folder=tmp_path / "offload", dtype="float32")
    plain, _ = load_model(tmp_path / "tiny")
    assert weight_name(placed, None) == "model.layers.2.mlp.down_proj.weight"  # FT's block, kept on the CPU
    assert dict(placed.named_parameters())["model.layers.1.mlp.down_proj.weight"].device.type == "meta"
    probe = placed_tok(["The capital of France is"], return_tensors="pt")
    with torch.no_grad():
        before = placed(**probe).logits.clone()
    editor = get_editor("FT-M", **FT["FT-M"])
    rows = {}
    for name, m in (("plain", plain), ("placed", placed)):
        pre = pre_edit(m, placed_tok, requests[:2], CONFIG)
        with editor.apply(m, placed_tok, requests[:1]) as edited:
            rows[name] = evaluate(edited, placed_tok, requests[:1], pre=pre, config=CONFIG)
    assert_same_rows(rows["plain"], rows["placed"])
    with torch.no_grad():
        assert torch.equal(placed(**probe).logits, before)
    with pytest.raises(ValueError, match="offloaded"):
        get_editor("FT-M", **FT["FT-M"], layer=1).apply(placed, placed_tok, requests[:1])
