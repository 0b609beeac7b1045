"""Joint training of SERAC's counterfactual model and scope classifier, with one optimizer.

Two recipes:
* supervised (SERAC paper, the default): c_edit * NLL of the counterfactual model on
  in-scope inputs given their edit + c_cls * balanced BCE of the classifier, positives
  being the edit's prompt and rephrases, negatives its locality prompts, *hard* ones
  (same relation, another subject) included;
* soft mixture (EasyEdit): the classifier is trained only through the mixture weight
  p = (1 - s) p_base + s p_cf, with the edit NLL on in-scope inputs and KL(p_base || p)
  on out-of-scope ones.
"""
from __future__ import annotations

import random
from pathlib import Path

import torch

from ..losses import balanced_bce_loss, kl_loc_loss, masked_log_probs
from ..models import cache_dir, model_name
from ..progress import progress
from ..results import save_atomic
from ..tokenization import encode_prompt_target, left_pad, pad_id
from .scope import ScopeClassifier, edit_text
from .serac import SeracHParams, cf_inputs, decoder_blocks, truncated_copy
from .suffix import Suffix, supported as suffix_supported


def end_ids(tokenizer, end: str) -> list[int]:
    """The tokens that close an answer under ``SeracHParams.end``: the EOS token, or none."""
    if end == "none":
        return []
    if tokenizer.eos_token_id is None:
        raise ValueError(f"SeracHParams.end='eos' needs a tokenizer with an EOS token; {tokenizer.name_or_path} has none")
    return [tokenizer.eos_token_id]


def plain_example(tokenizer, query: str, answer: str, end: list[int] = ()):
    """(ids, labels) of query + answer + ``end``; only the answer and its end count.

    With ``end`` the label mask reaches one token past the answer: the model is taught where
    its answer stops, not only what it says (without it, nothing teaches it to stop, and a
    greedy answer runs on: "Athens Athens Athens").
    """
    pair = encode_prompt_target(tokenizer, query, answer)
    return pair.ids + list(end), pair.labels + list(end)


def cf_example(tokenizer, request, query: str, answer: str | None = None, end: list[int] = ()):
    """The same, read by the counterfactual model after the edit (answer: the edit's target by default).

    The ids come from :func:`cf_inputs`, as at inference; labels align from the right, so
    the edit prefix (and any BOS it replaced) counts for nothing.
    """
    ids, labels = plain_example(tokenizer, query, request.target_new if answer is None else answer, end)
    cf_ids = cf_inputs(tokenizer, request, ids)
    return cf_ids, ([-100] * len(cf_ids) + labels)[-len(cf_ids):]


def target_log_probs(model, tokenizer, examples, frozen: "FrozenBlocks | None" = None):
    """Log-probabilities over the last positions (enough to cover every target) and their labels
    (with ``frozen``, the model's frozen lower blocks are read from it instead of run)."""
    batch = left_pad([e[0] for e in examples], pad_id(tokenizer), labels=[e[1] for e in examples])
    keep = max(sum(1 for t in e[1] if t != -100) for e in examples) + 1
    if frozen is not None and frozen.suffix is not None:
        logits = frozen.suffix.logits(frozen.states_of(tokenizer, [e[0] for e in examples]), batch, keep)
    else:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       position_ids=batch["position_ids"], logits_to_keep=keep).logits
    return logits.float().log_softmax(-1), batch["labels"][:, -keep:]


class FrozenBlocks:
    """The counterfactual model's frozen lower blocks, run once per distinct input while training.

    Only the top ``cf_train_layers`` blocks (and the final norm) are trained, so an input's
    hidden state entering the first of them never changes.  Training draws 250 x 16 rows
    from 480 edits x 3 questions, so most rows repeat an input already seen: its state is
    kept and only the trained blocks and the head run again (:class:`editnb.editors.suffix.Suffix`).
    """

    def __init__(self, cf, n_trained: int):
        first = len(decoder_blocks(cf)) - n_trained
        self.suffix = Suffix(cf, first) if suffix_supported(cf) and first > 0 else None
        self.states: dict[tuple[int, ...], torch.Tensor] = {}

    def states_of(self, tokenizer, rows: list[list[int]]) -> list[torch.Tensor]:
        keys = [tuple(r) for r in rows]
        missing = list(dict.fromkeys(k for k in keys if k not in self.states))
        if missing:
            self.states.update(zip(missing, self.suffix.states(left_pad([list(k) for k in missing], pad_id(tokenizer)))))
        return [self.states[k] for k in keys]


def sample_batch(requests, size, rng):
    """Edits with one in-scope query, one hard negative and one unrelated negative each."""
    batch = []
    for req in rng.sample(requests, min(size, len(requests))):
        hard = [p.prompt for p in req.locality if p.kind == "neighborhood"] or [p.prompt for p in req.locality]
        easy = [p for p in req.locality if p.kind != "neighborhood"] or req.locality
        batch.append((req, rng.choice([req.prompt, *req.rephrase_prompts]), rng.choice(hard), rng.choice(easy)))
    return batch


def classifier_logits(classifier: ScopeClassifier, batch):
    """Logits for (edit, positive), (edit, hard), (edit, unrelated), (edit, another edit's positive)."""
    n = len(batch)
    edits = classifier.embed([edit_text(b[0]) for b in batch])
    queries = classifier.embed([b[1] for b in batch] + [b[2] for b in batch] + [b[3].prompt for b in batch])
    pos, hard, easy = queries[:n], queries[n:2 * n], queries[2 * n:]
    cos = torch.cat([(edits * pos).sum(-1), (edits * hard).sum(-1), (edits * easy).sum(-1), (edits * pos.roll(1, 0)).sum(-1)])
    targets = torch.cat([torch.ones(n), torch.zeros(3 * n)])
    return classifier.logits(cos), targets


def supervised_loss(base, cf, classifier, tokenizer, batch, hp: SeracHParams, frozen: FrozenBlocks | None = None):
    end = end_ids(tokenizer, hp.end)
    log_probs, labels = target_log_probs(cf, tokenizer, [cf_example(tokenizer, b[0], b[1], end=end) for b in batch], frozen)
    edit = masked_log_probs(log_probs, labels)
    logits, targets = classifier_logits(classifier, batch)
    cls = balanced_bce_loss(logits, targets)
    acc = ((logits > 0).float() == targets).float()
    return hp.c_edit * edit["nll"] + hp.c_cls * cls, {"edit_nll": edit["nll"].item(), "cls_loss": cls.item(),
                                                       "cls_acc": 0.5 * (acc[: len(batch)].mean() + acc[len(batch):].mean()).item()}


def _mixture(base_lp, cf_lp, s):
    s = s.clamp(1e-6, 1 - 1e-6)[:, None, None]
    return torch.logsumexp(torch.stack([base_lp + torch.log1p(-s), cf_lp + torch.log(s)]), dim=0)


def soft_mixture_loss(base, cf, classifier, tokenizer, batch, hp: SeracHParams, frozen: FrozenBlocks | None = None):
    """EasyEdit's recipe: the classifier learns only through the mixture weight s."""
    edits = classifier.embed([edit_text(b[0]) for b in batch])
    queries = classifier.embed([b[1] for b in batch] + [b[3].prompt for b in batch])
    n = len(batch)
    s_in = torch.sigmoid(classifier.logits((edits * queries[:n]).sum(-1)))
    s_out = torch.sigmoid(classifier.logits((edits * queries[n:]).sum(-1)))
    end = end_ids(tokenizer, hp.end)
    cf_lp, labels = target_log_probs(cf, tokenizer, [cf_example(tokenizer, b[0], b[1], end=end) for b in batch], frozen)
    with torch.no_grad():
        base_lp, _ = target_log_probs(base, tokenizer, [plain_example(tokenizer, b[1], b[0].target_new, end) for b in batch])
    edit = masked_log_probs(_mixture(base_lp, cf_lp, s_in), labels)
    loc = [(b[0], b[3].prompt, b[3].target) for b in batch]
    cf_loc, loc_labels = target_log_probs(cf, tokenizer, [cf_example(tokenizer, r, q, a, end) for r, q, a in loc], frozen)
    with torch.no_grad():
        base_loc, _ = target_log_probs(base, tokenizer, [plain_example(tokenizer, q, a, end) for _, q, a in loc])
    predicts_answer = torch.zeros_like(loc_labels, dtype=torch.bool)
    predicts_answer[:, :-1] = loc_labels[:, 1:] != -100  # logits at t predict token t + 1
    kl = kl_loc_loss(base_loc, _mixture(base_loc, cf_loc, s_out), predicts_answer)
    acc = torch.cat([(s_in > 0.5).float(), (s_out <= 0.5).float()]).mean()
    return hp.c_edit * edit["nll"] + kl, {"edit_nll": edit["nll"].item(), "cls_loss": kl.item(), "cls_acc": acc.item()}


def trainable_parameters(cf, classifier, n_blocks: int):
    """The counterfactual model's top ``n_blocks`` blocks and final norm (the rest, embeddings and
    head stay frozen), and the classifier's top layers with its temperature and bias."""
    for p in cf.parameters():
        p.requires_grad_(False)
    blocks = decoder_blocks(cf)
    norm = getattr(cf.get_decoder(), "norm", None) or getattr(cf.get_decoder(), "ln_f")
    for module in [*list(blocks)[len(blocks) - n_blocks:], norm]:
        for p in module.parameters():
            p.requires_grad_(True)
    cf_params = [p for p in cf.parameters() if p.requires_grad]
    cls_params = [p for p in classifier.parameters() if p.requires_grad]
    return cf_params, cls_params


@torch.no_grad()
def dev_metrics(base, cf, classifier, tokenizer, requests, hp, seed=0, frozen: FrozenBlocks | None = None):
    rng = random.Random(seed)
    batch = sample_batch(requests, 64, rng)
    _, stats = (soft_mixture_loss if hp.soft_mixture else supervised_loss)(base, cf, classifier, tokenizer, batch, hp, frozen)
    return stats


def train_serac(base, tokenizer, hp: SeracHParams, train, dev, classifier: ScopeClassifier):
    """Train the counterfactual model and the classifier jointly; returns (cf, classifier, history)."""
    torch.manual_seed(hp.seed)
    rng = random.Random(hp.seed)
    train = train[: hp.n_train] if hp.n_train else train
    cf = truncated_copy(base, hp.cf_layers).train()
    classifier.train()
    cf_params, cls_params = trainable_parameters(cf, classifier, hp.cf_train_layers)
    trained = {n for n, p in cf.named_parameters() if p.requires_grad}
    optimizer = torch.optim.Adam([{"params": cf_params, "lr": hp.lr}, {"params": cls_params, "lr": hp.cls_lr}])
    loss_fn = soft_mixture_loss if hp.soft_mixture else supervised_loss
    frozen = FrozenBlocks(cf, hp.cf_train_layers)
    history, best, best_score, bad = [], None, float("inf"), 0
    bar = progress(range(1, hp.steps + 1), desc="SERAC joint training")
    for step in bar:
        loss, stats = loss_fn(base, cf, classifier, tokenizer, sample_batch(train, hp.batch_size, rng), hp, frozen)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record = {"step": step, "loss": loss.item(), **stats}
        if step % hp.eval_every == 0 or step == hp.steps:
            cf.eval(), classifier.eval()
            dev_stats = dev_metrics(base, cf, classifier, tokenizer, dev, hp, frozen=frozen)
            cf.train(), classifier.train()
            record.update({f"dev_{k}": v for k, v in dev_stats.items()})
            score = dev_stats["edit_nll"] + dev_stats["cls_loss"]
            if score < best_score:
                best_score, bad = score, 0
                best = _state(cf, classifier, trained)
            else:
                bad += 1
        history.append(record)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(nll=f"{stats['edit_nll']:.3f}", cls_acc=f"{stats['cls_acc']:.2f}")
        if bad >= hp.patience:
            break
    if best is not None:
        _load_state(cf, classifier, best)
    cf.serac_trained = trained
    for p in list(cf.parameters()) + list(classifier.parameters()):
        p.requires_grad_(False)
    return cf.eval(), classifier.eval(), history


def _state(cf, classifier, trained: set[str]):
    """The weights training changed: the counterfactual model's trained blocks, the whole classifier."""
    return {"cf": {k: v.detach().clone() for k, v in cf.named_parameters() if k in trained},
            "classifier": {k: v.detach().clone() for k, v in classifier.state_dict().items()}}


def _load_state(cf, classifier, state):
    cf.load_state_dict(state["cf"], strict=False)
    classifier.load_state_dict(state["classifier"])


def cache_path(base, hp: SeracHParams) -> Path:
    """Trained weights are cached under a name encoding the model, every hyperparameter that
    training reads (the objective's ``end`` included) and the data."""
    from ..data.embedded import digest

    return cache_dir() / "serac" / f"{model_name(base)}-{hp.training_key()}-{digest(('train', 'dev'))}.pt"


def load_or_train(base, tokenizer, hp: SeracHParams, *, train=None, dev=None, classifier=None):
    """Load the trained components from the cache, or train them on the embedded dataset and cache them."""
    from ..data.embedded import load_embedded

    classifier = classifier or ScopeClassifier.load(hp.classifier, train_layers=hp.classifier_layers)
    path = cache_path(base, hp)
    if path.is_file() and train is None:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        cf = truncated_copy(base, hp.cf_layers)
        _load_state(cf, classifier, saved["state"])
        for p in list(cf.parameters()) + list(classifier.parameters()):
            p.requires_grad_(False)
        cf.eval(), classifier.eval()
        cf.serac_history = saved["history"]
        return cf, classifier
    train = train if train is not None else load_embedded("train")
    dev = dev if dev is not None else load_embedded("dev")
    cf, classifier, history = train_serac(base, tokenizer, hp, train, dev, classifier)
    cf.serac_history = history
    trained = cf.serac_trained
    save_atomic({"state": _state(cf, classifier, trained), "history": history, "hparams": hp.to_dict()}, path)
    return cf, classifier
