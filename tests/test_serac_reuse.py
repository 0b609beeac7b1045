"""SERAC's evaluation reuses what is already known: the unedited model's outputs for inputs it routes
to the base model, and continuations it decoded before.  Neither may change a row."""
import pytest
import torch

from editnb.data.embedded import load_embedded
from editnb.editors import serac as serac_module
from editnb.editors.serac import SERAC, SeracHParams
from editnb.evaluate import EvalConfig, evaluate, pre_edit
from editnb.evaluate.core import BatchedScorer

from .helpers import assert_rows_equal
from .test_editors import serac_parts

CONFIG = EvalConfig(max_new_tokens=6, fluency=True, fluency_max_new_tokens=8, progress=False)


class CountingScorer(BatchedScorer):
    def __init__(self, config):
        super().__init__(config)
        self.tf, self.ar = 0, 0

    def teacher_forced(self, model, tokenizer, pairs, edit_ids=None):
        self.tf += len(pairs)
        return super().teacher_forced(model, tokenizer, pairs, edit_ids)

    def generate(self, model, tokenizer, sequences, **kwargs):
        self.ar += len(sequences)
        return super().generate(model, tokenizer, sequences, **kwargs)


@pytest.fixture(scope="module")
def requests():
    return load_embedded("test", n=5)


def median_threshold(edited, requests):
    """An untrained classifier: the median score as threshold, so that both routes are taken."""
    prompts = [s for r in requests for s in [r.prompt, *r.rephrase_prompts, *(q.prompt for q in r.locality)]]
    ids = [k for k, r in enumerate(requests) for _ in [r.prompt, *r.rephrase_prompts, *r.locality]]
    return edited.module.memory.lookup_each(prompts, ids)[0].median().item()


def test_out_of_scope_probes_take_the_unedited_outputs(requests):
    base, tok, cf, classifier = serac_parts("llama")
    pre = pre_edit(base, tok, requests, CONFIG)
    editor = SERAC(SeracHParams(), components=(cf, classifier))
    with editor.apply_each(base, tok, requests) as edited:
        edited.module.threshold = median_threshold(edited, requests)
        reusing = CountingScorer(CONFIG)
        rows = evaluate(edited, tok, requests, pre=pre, config=CONFIG, scorer=reusing)
        editor.continuations.clear()
        edited.module.answers_unedited = None  # the model no longer says which inputs it leaves alone
        computing = CountingScorer(CONFIG)
        recomputed = evaluate(edited, tok, requests, pre=pre, config=CONFIG, scorer=computing)
    assert_rows_equal(rows, recomputed)
    assert reusing.tf < computing.tf and reusing.ar < computing.ar  # some probes were not scored again


def test_continuations_are_decoded_once(requests, monkeypatch):
    base, tok, cf, classifier = serac_parts("gpt2")
    editor = SERAC(SeracHParams(), components=(cf, classifier))
    decoded = []
    real = serac_module.greedy_continue
    monkeypatch.setattr(serac_module, "greedy_continue", lambda model, ids, mask, **kw: decoded.append(len(ids)) or real(model, ids, mask, **kw))
    with editor.apply_each(base, tok, requests) as each:
        threshold = median_threshold(each, requests)
    with editor.apply(base, tok, requests) as edited:
        edited.module.threshold = threshold
        first = evaluate(edited, tok, requests, config=CONFIG, protocols=("autoregressive",))
        n_first = sum(decoded)
        again = evaluate(edited, tok, requests, config=CONFIG, protocols=("autoregressive",))
        assert n_first > 0 and sum(decoded) == n_first  # nothing decoded the second time
        assert again == first
        with torch.no_grad():  # an in-place change of the base model's weights: its continuations are stale
            next(base.parameters()).add_(0.0)
        evaluate(edited, tok, requests, config=CONFIG, protocols=("autoregressive",))
        assert sum(decoded) > n_first


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_training_reads_the_frozen_blocks_once(requests, arch):
    """The counterfactual model's log-probabilities and their gradients with the frozen lower blocks
    read from FrozenBlocks equal those of the whole forward pass; a repeated input runs them once."""
    from editnb.editors.serac_train import FrozenBlocks, cf_example, target_log_probs, trainable_parameters

    base, tok, cf, classifier = serac_parts(arch)
    cf_params, _ = trainable_parameters(cf, classifier, 1)
    examples = [cf_example(tok, r, q) for r in requests[:3] for q in (r.prompt, r.rephrase_prompts[0])]
    whole, labels = target_log_probs(cf, tok, examples)
    whole.sum().backward()
    expected = [p.grad.clone() for p in cf_params]
    for p in cf_params:
        p.grad = None
    frozen = FrozenBlocks(cf, 1)
    read, read_labels = target_log_probs(cf, tok, examples, frozen)
    read.sum().backward()
    torch.testing.assert_close(read, whole, rtol=1e-5, atol=1e-5)
    assert torch.equal(read_labels, labels)
    for got, want in zip((p.grad for p in cf_params), expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert len(frozen.states) == len(examples)
    target_log_probs(cf, tok, examples[:2] * 2, frozen)  # seen inputs: nothing new is computed
    assert len(frozen.states) == len(examples)


def test_oracle_router_routes_by_the_true_scope(requests):
    """SERAC-oracle sends an edit's own prompt and rephrases (also inside a QA or chat wrapper) to
    the counterfactual model, everything else to the base model, whatever the classifier says."""
    from editnb.editors.serac import SERACOracle

    base, tok, cf, classifier = serac_parts("llama")
    r = requests[0]
    with SERACOracle(SeracHParams(threshold=2.0), components=(cf, classifier)).apply(base, tok, requests[:2]) as edited:
        serac = edited.module
        wrapped = f"Answer with a short phrase.\nQuestion: {r.rephrase_prompts[0]}\nAnswer:"
        texts = [r.prompt, r.rephrase_prompts[0], wrapped, r.locality[0].prompt, requests[1].prompt]
        assert serac.route(texts) == [0, 0, 0, None, 1]  # a threshold no score reaches: the classifier plays no part
    with SERAC(SeracHParams(threshold=2.0), components=(cf, classifier)).apply(base, tok, requests[:2]) as edited:
        assert edited.module.route(texts) == [None] * 5
