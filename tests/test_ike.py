"""IKE: retrieval of demonstrations, the context each row reads, edit-parallel equivalence, restore."""
import pytest

from editnb.data import EditRequest, Probe
from editnb.data.embedded import load_embedded
from editnb.editors import get_editor
from editnb.editors.memory.ike import IKE, Demonstrations, FACT
from editnb.editors.scope import ScopeClassifier
from editnb.evaluate import EvalConfig, evaluate, pre_edit
from editnb.models import tiny_model
from editnb.tiny import build_tiny_encoder

from .test_each import assert_same_rows
from .test_editors import assert_bit_identical, snapshot

CONFIG = EvalConfig(max_new_tokens=6, fluency=True, fluency_max_new_tokens=8, progress=False)


def request(i, prompt, target, rephrase, neighbour, answer):
    return EditRequest(id=str(i), prompt=prompt, subject="", target_new=target, rephrase_prompts=[rephrase],
                       locality=[Probe(neighbour, [[answer]], "neighborhood")])


POOL = [
    request(0, "The capital of France is", "Lyon", "France's capital city is", "The capital of Spain is", "Madrid"),
    request(1, "The violin is played by", "Yo-Yo Ma", "Who plays the violin? It is", "The cello is played by", "Casals"),
    request(2, "The currency of Japan is the", "dollar", "Japan pays with the", "The currency of China is the", "yuan"),
]


@pytest.fixture(scope="module")
def tiny_pool():
    return Demonstrations(POOL, ScopeClassifier(*build_tiny_encoder()))


def test_pool_holds_copy_update_and_retain_demonstrations(tiny_pool):
    assert tiny_pool.kinds == ["copy", "update", "retain"] * 3
    copy, update, retain = tiny_pool.texts[:3]
    assert copy == "New Fact: The capital of France is Lyon\nThe capital of France is Lyon\n\n"
    assert update.endswith("France's capital city is Lyon\n\n")
    assert retain.endswith("The capital of Spain is Madrid\n\n")  # a neighbour keeps its own answer


def test_retrieval_returns_the_demonstrations_of_the_nearest_fact():
    """With the real MiniLM encoder, a new fact about a country's capital retrieves the capital
    demonstrations, the nearest last (next to the input)."""
    pool = Demonstrations(POOL, ScopeClassifier.load())
    query = request(9, "The capital of Italy is", "Milan", "Italy's capital city is", "The capital of Greece is", "Athens")
    got = pool.nearest(query, 3)
    assert all("capital" in text for text in got), got
    assert pool.nearest(query, 1) == got[-1:]
    assert pool.nearest(query, 0) == []


def test_each_row_reads_its_own_edit_and_equals_one_at_a_time(tiny_pool):
    model, tok = tiny_model("llama")
    saved = snapshot(model)
    requests = load_embedded("test", n=3)
    editor = IKE(pool=tiny_pool, k=2)
    pre = pre_edit(model, tok, requests, CONFIG)
    singles = []
    for r in requests:
        with editor.apply(model, tok, [r]) as edited:
            text = tok.decode(edited.module.contexts[-1], skip_special_tokens=True).replace("\n", "")  # (the tiny tokenizer drops newlines)
            assert text.endswith(f"New Fact: {r.prompt} {r.target_new}") and text.count("New Fact:") == 3
            singles += evaluate(edited, tok, [r], pre=pre, config=CONFIG)
    with editor.apply_each(model, tok, requests) as each:
        rows = evaluate(each, tok, requests, pre=pre, config=CONFIG)
    assert_same_rows(singles, rows)
    assert_bit_identical(model, saved)


def test_sequential_facts_accumulate_until_the_budget_drops_the_oldest(tiny_pool):
    model, tok = tiny_model("gpt2")
    requests = load_embedded("test", n=6)
    editor = IKE(pool=tiny_pool, k=0, budget=150)  # two or so of the tiny tokenizer's facts
    edited = editor.apply(model, tok, requests[:1])
    assert edited.dropped == 0
    with pytest.warns(UserWarning, match="do not fit the 150-token context"):
        edited = editor.apply(edited, tok, requests[1:])
    text = tok.decode(edited.module.contexts[-1])
    assert edited.dropped > 0 and len(edited.module.contexts[-1]) <= 150
    assert requests[-1].target_new in text and requests[0].prompt not in text  # the newest kept, the oldest dropped
    assert editor.left_out(tok, requests) == edited.dropped  # what a stored curve's point was scored with
    edited.restore()


def test_context_truncation_names_the_editor_and_each_checkpoints_range(tiny_pool):
    from editnb import experiments

    _, tok = tiny_model("gpt2")
    requests = load_embedded("test", n=6)
    editor = get_editor("Fact-in-prompt", budget=150)
    orders = [requests, requests[::-1]]
    counts = [editor.left_out(tok, order[:6]) for order in orders]
    line = experiments.context_truncation(editor, tok, orders, (1, 6))
    assert line.startswith("Fact-in-prompt: facts left out of its 150-token context (2 orderings): ")
    assert "after 1 edits" not in line and min(counts) > 0  # one fact fits; six do not
    assert f"after 6 edits {min(counts) if min(counts) == max(counts) else f'{min(counts)}-{max(counts)}'} of 6" in line
    assert experiments.context_truncation(get_editor("Fact-in-prompt"), tok, orders, (1, 6)) == ""  # all fit 1024
    assert experiments.context_truncation(get_editor("FT-L"), tok, orders, (1, 6)) == ""


def test_k_zero_is_the_new_fact_alone(tiny_pool):
    model, tok = tiny_model("llama")
    r = load_embedded("test", n=1)[0]
    with get_editor("IKE", k=0).apply(model, tok, [r]) as edited:
        assert tok.decode(edited.module.contexts[0], skip_special_tokens=True).strip() == FACT.format(fact=f"{r.prompt} {r.target_new}").strip()


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_shared_contexts_read_as_the_whole_sequence(arch):
    """Rows read after contexts whose keys and values were computed once give the logits and the
    greedy tokens of the whole context + row sequence."""
    import torch

    from editnb.editors.memory.prefix import SharedContexts, after_context, continue_after, logits_after
    from editnb.tokenization import encode

    model, tok = tiny_model(arch)
    contexts = [encode(tok, "New Fact: a b c d\n"), encode(tok, "New Fact: the longer context of this test\n")]
    rows = [encode(tok, "The capital of France is"), encode(tok, "Paris"), encode(tok, "One two three four five")]
    which = [0, 1, 1]
    shared = SharedContexts(model, tok, contexts)
    seqs = [after_context(tok, contexts[c], r) for r, c in zip(rows, which)]
    with torch.no_grad():
        whole = logits_after(model, tok, seqs, [len(r) for r in rows], 3)
        torch.testing.assert_close(shared.logits(rows, which, 3), whole, rtol=1e-4, atol=1e-4)
        assert shared.continuations(rows, which, max_new_tokens=5) == continue_after(model, tok, seqs, max_new_tokens=5)
    assert len(shared.kv) == 2  # each context computed once


def test_ike_rows_equal_the_one_row_reference(tiny_pool):
    from editnb.evaluate.reference import evaluate_reference

    model, tok = tiny_model("qwen2")
    requests = load_embedded("test", n=3)
    pre = pre_edit(model, tok, requests, CONFIG)
    with IKE(pool=tiny_pool, k=2).apply_each(model, tok, requests) as edited:
        assert_same_rows(evaluate_reference(edited, tok, requests, pre=pre, config=CONFIG),
                         evaluate(edited, tok, requests, pre=pre, config=CONFIG))
