import json
from dataclasses import replace

import pytest
import torch

from editnb.data import EditRequest, Probe
from editnb.data.embedded import load_embedded
from editnb.editors import EditedModel, FTHParams, get_editor
from editnb.editors.ft import prompt_last_nll, target_nll
from editnb.editors.scope import ScopeClassifier
from editnb.editors.serac import SERAC, SeracHParams, SeracModel, truncated_copy
from editnb.editors.serac_train import supervised_loss, soft_mixture_loss, sample_batch, trainable_parameters
from editnb.evaluate import EvalConfig, evaluate
from editnb.losses import masked_log_probs
from editnb.models import tiny_model
from editnb.tiny import build_tiny_encoder
from editnb.tokenization import encode_prompt_target, teacher_forced_batch
from tests.helpers import assert_bit_identical, snapshot



@pytest.fixture
def requests():
    return load_embedded("test", n=3)


@pytest.mark.parametrize("name,overrides", [("FT-L", dict(lr=1e-3, norm_constraint=5e-3)), ("FT-M", dict(lr=5e-3))])
@pytest.mark.parametrize("sequential", [False, True])
def test_ft_lowers_target_nll_and_restores_bit_for_bit(requests, name, overrides, sequential):
    model, tok = tiny_model("llama")
    saved = snapshot(model)
    editor = get_editor(name, steps=8, **overrides)
    with torch.no_grad():
        before = target_nll(model, tok, requests)
    with editor.apply(model, tok, requests, sequential=sequential) as edited:
        assert isinstance(edited, EditedModel) and len(edited.requests) == 3
        with torch.no_grad():
            after = target_nll(edited, tok, requests)
        assert (after < before).all(), (before, after)
        changed = [n for n, p in model.named_parameters() if not torch.equal(p, saved[n])]
        assert changed == ["model.layers.2.mlp.down_proj.weight"]  # one MLP weight, the middle layer
    assert_bit_identical(model, saved)
    assert all(p.requires_grad for p in model.parameters())  # training flags restored too


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
def test_ft_objectives_match_their_definitions(requests, arch):
    """FT-M: masked NLL of each target in a left-padded batch of mixed lengths, equal to scoring
    each row alone; FT-L: every target token read at the last prompt position."""
    model, tok = tiny_model(arch)
    reqs = [replace(requests[0], target_new="a much longer target than the others")] + requests[1:]
    pairs = [encode_prompt_target(tok, r.prompt, r.target_new) for r in reqs]
    assert len({len(p.target_ids) for p in pairs}) > 1
    with torch.no_grad():
        alone = [masked_log_probs(model(input_ids=torch.tensor([p.ids])).logits, torch.tensor([p.labels]))["nll"]
                 for p in pairs]
        assert torch.allclose(target_nll(model, tok, reqs), torch.stack(alone), atol=1e-5)
        for r, p in zip(reqs, pairs):
            last = model(input_ids=torch.tensor([p.prompt_ids])).logits[0, -1].log_softmax(-1)
            expected = -last[list(p.target_ids)].mean()
            assert torch.allclose(prompt_last_nll(model, tok, [r]), expected, atol=1e-5)


def test_ftl_change_stays_in_the_linf_ball(requests):
    model, tok = tiny_model("gpt2")
    weight = dict(model.named_parameters())["transformer.h.2.mlp.c_proj.weight"]
    start = weight.detach().clone()
    edited = get_editor("FT-L", steps=10, lr=1e-2, norm_constraint=1e-3).apply(model, tok, requests)
    delta = (weight - start).abs().max().item()
    assert 0 < delta <= 1e-3 + 1e-7
    edited.restore()
    assert torch.equal(weight, start)


def test_sequential_edits_accumulate_and_one_restore_undoes_all(requests):
    model, tok = tiny_model("llama")
    saved = snapshot(model)
    editor = get_editor("FT-M", steps=4, lr=5e-3)
    edited = editor.apply(model, tok, requests[:1], sequential=True)
    edited = editor.apply(edited, tok, requests[1:], sequential=True)
    assert len(edited.requests) == 3
    edited.restore()
    assert_bit_identical(model, saved)
    with pytest.raises(ValueError, match="restored"):
        editor.apply(edited, tok, requests)


def test_hparams_from_json_and_yaml(tmp_path):
    (tmp_path / "ft.json").write_text(json.dumps({"layer": 1, "steps": 3}))
    (tmp_path / "ft.yaml").write_text("layer: 1\nsteps: 3\nlr: 0.01\n")
    assert get_editor("ft-m", hparams_file=tmp_path / "ft.json").hparams.steps == 3
    assert get_editor("FT-L", hparams_file=tmp_path / "ft.yaml", steps=5).hparams == FTHParams(layer=1, steps=5, lr=0.01)
    (tmp_path / "bad.json").write_text(json.dumps({"layers": [1]}))
    with pytest.raises(ValueError, match=r"bad.json.*unknown hyperparameters \['layers'\]"):
        get_editor("FT-L", hparams_file=tmp_path / "bad.json")
    with pytest.raises(ValueError, match="unknown editor"):
        get_editor("ROME-9000")


# ---------------------------------------------------------------- SERAC

def serac_parts(arch="llama"):
    base, tok = tiny_model(arch)
    classifier = ScopeClassifier(*build_tiny_encoder(), train_layers=1)
    cf = truncated_copy(base, 2).eval()
    return base, tok, cf, classifier


def make_request(i, prompt, target):
    return EditRequest(id=str(i), prompt=prompt, subject="", target_new=target, rephrase_prompts=[prompt + ","],
                       locality=[Probe("Biologically, the newt is a", [["amphibian"]], "unrelated")])


def test_serac_memory_accumulates_sequential_edits():
    base, tok, cf, classifier = serac_parts()
    saved = snapshot(base)
    editor = SERAC(SeracHParams(), components=(cf, classifier))
    reqs = [make_request(i, f"The capital of Country{i} is", f"City{i}") for i in range(4)]
    edited = editor.apply(base, tok, reqs[:1], sequential=True)
    for r in reqs[1:]:
        edited = editor.apply(edited, tok, [r], sequential=True)
    assert [r.id for r in edited.module.memory.requests] == ["0", "1", "2", "3"]
    assert edited.module.memory.embeddings.shape[0] == 4
    edited.restore()
    assert len(edited.module.memory) == 0
    assert_bit_identical(base, saved)


def routing_model():
    """A SERAC whose classifier is a bag of words: in scope when sharing the edit's subject word."""
    base, tok, cf, classifier = serac_parts()
    serac = SeracModel(base, cf, classifier, tok, threshold=0.5)

    def embed(texts):
        words = ["france", "japan", "kenya", "newt", "capital"]
        vecs = torch.tensor([[float(w in t.lower()) * (1 if w != "capital" else 0.3) for w in words] for t in texts])
        return torch.nn.functional.normalize(vecs + 1e-6, dim=-1)

    classifier.embed = embed
    with torch.no_grad():
        classifier.bias.fill_(0.6)
    return serac, tok


def test_in_scope_routes_to_counterfactual_and_unrelated_to_base():
    serac, tok = routing_model()
    serac.memory.add([make_request(0, "The capital of France is", "Oslo"), make_request(1, "The capital of Japan is", "Lima")])
    routes = serac.route(["France's capital city is", "The capital of Japan is", "Biologically, the newt is a"])
    assert routes == [0, 1, None]


def test_teacher_forced_routing_ignores_the_gold_target():
    serac, tok = routing_model()
    serac.memory.add([make_request(0, "The capital of France is", "Oslo")])

    # the target names France, the prompt does not: the row must go to the base model
    batch = teacher_forced_batch(tok, [encode_prompt_target(tok, "The capital of Kenya is", "near France")])
    serac(**batch)
    assert serac.last_routes == [None]
    serac(**{k: v for k, v in batch.items() if k != "labels"})  # without labels, the whole row is the query
    assert serac.last_routes == [0]


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_serac_batched_and_single_row_inference_agree(arch):
    base, tok, cf, classifier = serac_parts(arch)
    editor = SERAC(SeracHParams(), components=(cf, classifier))
    reqs = load_embedded("test", n=4)
    with editor.apply(base, tok, reqs) as edited:
        prompts = [p for r in reqs for p in [r.prompt, *r.rephrase_prompts, *(q.prompt for q in r.locality)]]
        scores, _ = edited.module.memory.lookup(prompts)
        edited.module.threshold = scores.median().item()  # an untrained classifier: split the probes in two
        routes = edited.module.route(prompts)
        assert any(r is not None for r in routes) and any(r is None for r in routes)  # both paths exercised
        batched = evaluate(edited, tok, reqs, config=EvalConfig(max_new_tokens=6, fluency=False, progress=False, batch_size=16, tf_batch_size=16))
        single = evaluate(edited, tok, reqs, config=EvalConfig(max_new_tokens=6, fluency=False, progress=False, batch_size=1, tf_batch_size=1))
    for a, b in zip(batched, single):
        for key in ("rewrite_acc", "rephrase_acc", "portability", "locality_acc_post"):
            assert a[key] == b[key], (a["id"], a["protocol"], key)
        for pa, pb in zip(a["probes"], b["probes"]):
            assert pa.get("text") == pb.get("text") and pa.get("acc") == pb.get("acc")
            if "nll" in pa:
                assert pa["nll"] == pytest.approx(pb["nll"], rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("loss_fn", [supervised_loss, soft_mixture_loss])
def test_one_joint_step_changes_both_components(loss_fn):
    import random

    base, tok, _, classifier = serac_parts()
    cf = truncated_copy(base, None)
    hp = SeracHParams(cf_train_layers=2, soft_mixture=loss_fn is soft_mixture_loss)
    cf_params, cls_params = trainable_parameters(cf, classifier, hp.cf_train_layers)
    before_cf, before_cls = [p.detach().clone() for p in cf_params], [p.detach().clone() for p in cls_params]
    optimizer = torch.optim.Adam([{"params": cf_params, "lr": 1e-3}, {"params": cls_params, "lr": 1e-3}])
    loss, stats = loss_fn(base, cf, classifier, tok, sample_batch(load_embedded("train"), 4, random.Random(0)), hp)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert any(not torch.equal(a, p) for a, p in zip(before_cf, cf_params))
    assert any(not torch.equal(a, p) for a, p in zip(before_cls, cls_params))
    assert {"edit_nll", "cls_loss", "cls_acc"} <= stats.keys()
    frozen = dict(cf.named_parameters())["model.embed_tokens.weight"]
    assert not frozen.requires_grad
