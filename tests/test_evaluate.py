import copy
import math

import pytest
import torch

from editnb.data import EditRequest, Probe
from editnb.data.embedded import load_embedded
from editnb.evaluate import EvalConfig, evaluate, evaluate_reference, ngram_entropy, pre_edit, pre_edit_reference
from editnb.evaluate.generation import Generation, find_stop, finish
from editnb.evaluate.probes import ProbeSpec, ar_detail, first_difference, token_agreement
from editnb.models import tiny_model
from editnb.tiny import build_tiny_model, build_tiny_tokenizer
from tests.helpers import assert_rows_equal, memorize

@pytest.fixture(scope="module")
def requests():
    return load_embedded("test", n=12)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_batched_equals_reference(tiny_models, requests, arch):
    """Batches of 1, 3 and 16 rows against the one-row reference (computed once)."""
    model, tok = tiny_models[arch]
    reference = None
    for batch_size in (1, 3, 16):
        config = EvalConfig(batch_size=batch_size, tf_batch_size=batch_size, max_new_tokens=8, fluency_max_new_tokens=12, progress=False)
        pre = pre_edit(model, tok, requests, config)
        batched = evaluate(model, tok, requests, pre=pre, config=config)
        if reference is None:
            reference = evaluate_reference(model, tok, requests, pre=pre_edit_reference(model, tok, requests, config), config=config)
        assert_rows_equal(batched, reference)
        assert {r["protocol"] for r in batched} == {"teacher_forced", "autoregressive"}


def test_gpt2_tokenizer_without_pad_token(requests):
    tok = build_tiny_tokenizer("gpt2")
    assert tok.pad_token is None
    model = build_tiny_model("gpt2", tok)
    config = EvalConfig(batch_size=5, max_new_tokens=6, fluency=False, progress=False)
    batched = evaluate(model, tok, requests[:6], config=config)
    assert_rows_equal(batched, evaluate_reference(model, tok, requests[:6], config=config))


def request(prompt, target, **kw):
    return EditRequest(id=kw.pop("id", "r"), prompt=prompt, subject="", target_new=target, **kw)


def test_parity_when_greedy_output_is_the_target():
    model, tok = tiny_model("llama", seed=1)
    prompt, target = "The capital of France is", "Lyon"
    memorize(model, tok, prompt, target + ".", steps=80)  # the period lets generation stop; "Lyon." keeps "Lyon"'s tokens
    config = EvalConfig(max_new_tokens=8, fluency=False, progress=False)
    tf, ar = evaluate(model, tok, [request(prompt, target)], config=config)
    assert ar["rewrite_text"].strip() == target  # the premise: greedy output is the target
    assert tf["protocol"] == "teacher_forced" and tf["rewrite_acc"] == 1.0 and tf["rewrite_em"] == 1.0
    assert ar["protocol"] == "autoregressive" and ar["rewrite_acc"] == 1.0 and ar["rewrite_prefix"] == 1.0


def test_target_then_more_text_is_alias_success_but_not_exact():
    model, tok = tiny_model("gpt2", seed=2)
    memorize(model, tok, "The capital of France is", "Paris and also Rome and Lyon", steps=120)
    config = EvalConfig(max_new_tokens=8, fluency=False, progress=False)
    (row,) = evaluate(model, tok, [request("The capital of France is", "Paris")], protocols=("autoregressive",), config=config)
    assert row["rewrite_text"].startswith(" Paris and")
    assert row["rewrite_acc"] == 1.0 and row["rewrite_prefix"] == 1.0
    assert row["rewrite_exact"] == 0.0


def test_target_in_prompt_is_not_generated(tiny_models):
    model, tok = tiny_models["gpt2"]
    config = EvalConfig(max_new_tokens=8, fluency=False, progress=False)
    prompt = "Paris, Paris, Paris. The capital of France is"
    (row,) = evaluate(model, tok, [request(prompt, "Paris")], protocols=("autoregressive",), config=config)
    assert "paris" not in row["rewrite_text"].lower()
    assert row["rewrite_acc"] == 0.0
    # and the matcher itself looks only at the continuation it is given
    spec = ProbeSpec("rewrite", prompt, [["Paris"]])
    assert ar_detail(spec, Generation(" Lyon", (1,), (5,)), None, match="contains", stop_strings=(".",))["success"] == 0.0


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_unedited_model_has_full_locality_agreement(tiny_models, requests, arch):
    model, tok = tiny_models[arch]
    config = EvalConfig(max_new_tokens=8, fluency=False, progress=False)
    pre = pre_edit(model, tok, requests, config)
    rows = evaluate(model, tok, requests, pre=pre, config=config)
    assert all(r["locality"] == 1.0 for r in rows)
    assert all(r["locality_whole"] == 1.0 for r in rows if r["protocol"] == "autoregressive")


def test_locality_drops_after_weights_change(tiny_models, requests):
    model, tok = tiny_models["llama"]
    config = EvalConfig(max_new_tokens=8, fluency=False, progress=False)
    pre = pre_edit(model, tok, requests, config)
    changed = copy.deepcopy(model)
    with torch.no_grad():
        for p in changed.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    rows = evaluate(changed, tok, requests, pre=pre, config=config)
    assert sum(r["locality"] for r in rows) / len(rows) < 0.9
    assert evaluate(changed, tok, requests, config=config)[0]["locality"] is None  # no pre: no agreement


def test_max_new_tokens_does_not_depend_on_target(tiny_models):
    model, tok = tiny_models["gpt2"]
    config = EvalConfig(max_new_tokens=7, stop_strings=(), fluency=False, progress=False)
    rows = evaluate(model, tok, [request("Hello there", "x", id="a"), request("Hello there", "a much longer target text", id="b")],
                    protocols=("autoregressive",), config=config)
    assert rows[0]["probes"][0]["n_tokens"] == rows[1]["probes"][0]["n_tokens"] <= 7


def test_none_where_request_has_no_probe(tiny_models):
    model, tok = tiny_models["gpt2"]
    config = EvalConfig(max_new_tokens=4, fluency=False, progress=False)
    rows = evaluate(model, tok, [request("Hi", "there")], config=config)
    for row in rows:
        assert row["rephrase_acc"] is None and row["portability"] is None and row["locality"] is None
        assert row["fluency"] is None and row["rewrite_acc"] is not None


def test_chat_context_needs_a_template(tiny_models):
    model, tok = tiny_models["gpt2"]
    with pytest.raises(ValueError, match="chat template"):
        evaluate(model, tok, [request("Hi", "there")], config=EvalConfig(context="chat", progress=False))
    with pytest.raises(ValueError, match="context"):
        EvalConfig(context="few-shot")
    from editnb.framing import contexts_for

    assert contexts_for(tok) == ("plain", "qa")  # a base model's tokenizer: notebook 03 asks in two contexts


def test_stop_strings_and_eos():
    assert find_stop(" Paris. Then", (".", "\n")) == 6
    assert find_stop("\n\nParis\nmore", (".", "\n")) == 7  # leading newlines are not a stop
    assert find_stop(" Paris", (".", "\n")) is None
    tok = build_tiny_tokenizer("gpt2")
    ids = tok(" Paris. Then more")["input_ids"]
    gen = finish(tok, ids, set())
    assert gen.text == " Paris. Then more" and len(gen.ends) == len(gen.token_ids) and gen.ends[-1] == len(gen.text)
    assert tok.decode(list(gen.tokens_before(6))).startswith(" Paris") and len(gen.tokens_before(6)) < len(ids)
    eos = tok.eos_token_id
    assert finish(tok, ids[:2] + [eos] + ids[2:], {eos}).token_ids == tuple(ids[:2])


def test_token_agreement_and_first_difference():
    assert token_agreement((1, 2, 3, 4), (1, 2, 9, 4)) == 0.75
    assert token_agreement((1, 2), (1,)) == 0.5
    assert first_difference((1, 2, 3), (1, 2, 3)) is None
    assert first_difference((1, 2, 3), (1, 5, 3)) == 1
    assert first_difference((1, 2, 3), (1, 2)) == 2


def test_fluency_entropy():
    assert ngram_entropy("Paris Paris Paris Paris Paris Paris") == 0.0
    varied = ngram_entropy("The city is known for its museums, its cafes and the river that runs through it.")
    assert varied > 3.0
    words = "a b c d"  # 3 distinct bigrams, 2 distinct trigrams
    assert ngram_entropy(words) == pytest.approx((2 / 3 * math.log2(3) + 4 / 3 * 1.0) / 2)


def test_first_tokens_checks_and_their_word_verdict():
    tok = build_tiny_tokenizer("gpt2")
    target = tok(" Paris")["input_ids"]
    gen = finish(tok, tok(" Parisian food here")["input_ids"], set())
    spec = ProbeSpec("rewrite", "The capital of France is", [["Paris"]])
    detail = ar_detail(spec, gen, None, match="prefix", stop_strings=(".",), target_ids=tuple(target))
    # EasyEdit's check reads as many tokens as the target has (" Paris"): it cannot see "ian"
    assert gen.token_ids[:len(target)] == tuple(target)
    assert detail["first_L"] == detail["first_L_acc"] == detail["first_L_prefix"] == 1.0
    assert detail["prefix"] == 0.0 and detail["exact"] == 0.0  # the natural stop sees "Parisian"
    short = finish(tok, tok(" Par")["input_ids"], set())  # shorter than the target: no index error, no credit
    d = ar_detail(spec, short, None, match="prefix", stop_strings=(".",), target_ids=tuple(tok(" Paris is big")["input_ids"]))
    assert d["first_L"] == 0.0 and d["first_L_prefix"] == 0.0
