"""Training MEND's editor network on the train split, selected on the dev split, cached.

A step draws ``batch_size`` train edits.  For each: the (u, δ) pairs of its NLL at the edited
projections, the network's update, then the model with each edit applied to its own rows only
(:class:`editnb.editors.mend.LowRankRows`) reads three inputs per edit:

* the edit's prompt and one of its rephrases with the new target: the edit loss,
  ``masked_log_probs`` (micro-averaged over their target tokens, as MEND and SERAC train);
* one of its locality prompts with its answer: ``kl_loc_loss`` against the unedited model at
  the positions that predict the answer (as EasyEdit's MEND; the LM head runs nowhere else).

loss = c_edit · NLL + c_loc · KL, first order (u and δ are inputs, as in MEND), Adam on the
network and the steps η, gradient norm clipped.  Only the last ``n_layers`` blocks change, so
every input's hidden state entering the first of them is computed once and kept
(:class:`editnb.editors.suffix.Suffix`): a step runs those blocks and the LM head only.
"""
from __future__ import annotations

import random
from pathlib import Path

import torch

from ..losses import kl_loc_loss, masked_log_probs
from ..models import cache_dir, model_name
from ..progress import progress
from ..results import save_atomic
from ..scoring import target_columns
from ..tokenization import encode_prompt_target, left_pad, pad_id
from .base import RowEdits
from .mend import EditorNetwork, LowRankRows, MENDHParams, edited_modules, make_network, token_pairs
from .suffix import Suffix, supported as suffix_supported


class Inputs:
    """Rows (prompt + answer, labels on the answer) run from the first edited block, with each
    distinct row's input to that block computed once (the whole model where Suffix does not apply)."""

    def __init__(self, model, tokenizer, first: int):
        self.model, self.tokenizer = model, tokenizer
        self.suffix = Suffix(model, first) if suffix_supported(model) else None
        self.states: dict[tuple[int, ...], torch.Tensor] = {}

    def batch(self, pairs: list[tuple[str, str]]) -> dict:
        encoded = [encode_prompt_target(self.tokenizer, p, a) for p, a in pairs]
        return left_pad([e.ids for e in encoded], pad_id(self.tokenizer), labels=[e.labels for e in encoded])

    def logits(self, batch: dict) -> torch.Tensor:
        """Logits at the last positions of ``batch``, enough to predict every labelled token (the
        LM head's 49k-word vocabulary is most of a step's cost: it runs nowhere else)."""
        keep = target_columns(batch["labels"])
        if self.suffix is None:
            return self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              position_ids=batch["position_ids"], use_cache=False, logits_to_keep=keep).logits
        mask = batch["attention_mask"].bool()
        rows = [tuple(batch["input_ids"][i][mask[i]].tolist()) for i in range(len(mask))]
        missing = list(dict.fromkeys(r for r in rows if r not in self.states))
        if missing:
            self.states.update(zip(missing, self.suffix.states(left_pad([list(r) for r in missing], pad_id(self.tokenizer)))))
        return self.suffix.logits([self.states[r] for r in rows], batch, keep)


def sample_edits(requests, size: int, rng: random.Random) -> list[tuple]:
    """(request, a rephrase (or the prompt), a locality probe) per drawn edit."""
    out = []
    for r in rng.sample(requests, min(size, len(requests))):
        out.append((r, rng.choice(r.rephrase_prompts or [r.prompt]), rng.choice(r.locality) if r.locality else None))
    return out


def edit_loss(net: EditorNetwork, inputs: Inputs, names, draws, hp: MENDHParams) -> tuple[torch.Tensor, dict]:
    model, tok = inputs.model, inputs.tokenizer
    requests = [d[0] for d in draws]
    pairs = token_pairs(model, tok, requests, names, run=inputs.logits)
    factors = [[net.factors(mode, u, d) for mode, (u, d) in enumerate(p)] for p in pairs]
    edit_rows = [(r.prompt, r.target_new) for r in requests] + [(d[1], d[0].target_new) for d in draws]
    loc = [(i, d[2]) for i, d in enumerate(draws) if d[2] is not None]
    loc_rows = [(p.prompt, p.target) for _, p in loc]
    ids = list(range(len(requests))) * 2 + [i for i, _ in loc]
    batch = inputs.batch(edit_rows + loc_rows)
    rows = RowEdits()
    hooks = [LowRankRows(model.get_submodule(n), rows, [f[mode] for f in factors]) for mode, n in enumerate(names)]
    try:
        with rows(ids, len(requests)):
            logits = inputs.logits(batch)
    finally:
        for h in hooks:
            h.remove()
    n_edit, labels = len(edit_rows), batch["labels"][:, -logits.shape[1]:]
    edit = masked_log_probs(logits[:n_edit], labels[:n_edit])
    stats = {"edit_nll": edit["nll"].item(), "edit_acc": edit["acc"].item()}
    loss = hp.c_edit * edit["nll"]
    if loc_rows:
        loc_batch = inputs.batch(loc_rows)
        with torch.no_grad():
            pre = inputs.logits(loc_batch)
        loc_labels = loc_batch["labels"][:, -pre.shape[1]:]
        predicts_answer = torch.zeros_like(loc_labels, dtype=torch.bool)
        predicts_answer[:, :-1] = loc_labels[:, 1:] != -100  # logits at t predict token t + 1
        kl = kl_loc_loss(pre, logits[n_edit:, -pre.shape[1]:], predicts_answer)
        loss = loss + hp.c_loc * kl
        stats["loc_kl"] = kl.item()
    return loss, stats


@torch.no_grad()
def set_statistics(net: EditorNetwork, inputs: Inputs, names, requests) -> None:
    """Per edited layer, the mean and spread of every feature of (u, δ) over the tokens of ``requests``."""
    per_layer = [[] for _ in names]
    for i in range(0, len(requests), 16):
        for pairs in token_pairs(inputs.model, inputs.tokenizer, requests[i:i + 16], names, run=inputs.logits):
            for mode, (u, d) in enumerate(pairs):
                per_layer[mode].append((u, d))
    for mode, pairs in enumerate(per_layer):
        net.set_statistics(mode, torch.cat([u for u, _ in pairs]), torch.cat([d for _, d in pairs]))


def dev_metrics(net, inputs, names, dev_draws, hp, batch_size) -> dict:
    totals, n = {}, 0
    for i in range(0, len(dev_draws), batch_size):
        chunk = dev_draws[i:i + batch_size]
        with torch.no_grad():
            loss, stats = edit_loss(net, inputs, names, chunk, hp)
        for k, v in {"loss": loss.item(), **stats}.items():
            totals[k] = totals.get(k, 0.0) + v * len(chunk)
        n += len(chunk)
    return {k: v / n for k, v in totals.items()}


def train_mend(model, tokenizer, hp: MENDHParams, train, dev) -> tuple[EditorNetwork, list[dict]]:
    """Train the editor network; returns it (the state of the best dev loss) and the history."""
    torch.manual_seed(hp.seed)
    rng = random.Random(hp.seed)
    train = list(train[: hp.n_train] if hp.n_train else train)
    names = edited_modules(model, hp.n_layers)
    first = model.config.num_hidden_layers - hp.n_layers
    flags = {p: p.requires_grad for p in model.parameters()}
    was_training = model.training
    for p in flags:
        p.requires_grad_(False)
    model.eval()
    try:
        inputs = Inputs(model, tokenizer, first)
        net = make_network(model, hp)
        set_statistics(net, inputs, names, random.Random(hp.seed).sample(train, min(hp.n_norm, len(train))))
        dev_draws = sample_edits(dev, 32, random.Random(hp.seed + 1))
        optimizer = torch.optim.Adam([{"params": [p for n, p in net.named_parameters() if n != "edit_lrs"], "lr": hp.lr},
                                      {"params": [net.edit_lrs], "lr": hp.lr_lr}])
        history, best, best_score, bad = [], None, float("inf"), 0
        # step 0: the untrained network (the identity: a normalised gradient step of size edit_lr)
        history.append({"step": 0, **{f"dev_{k}": v for k, v in dev_metrics(net, inputs, names, dev_draws, hp, hp.batch_size).items()}})
        bar = progress(range(1, hp.steps + 1), desc="MEND training")
        for step in bar:
            loss, stats = edit_loss(net, inputs, names, sample_edits(train, hp.batch_size, rng), hp)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), hp.grad_clip)
            optimizer.step()
            record = {"step": step, "loss": loss.item(), **stats}
            if step % hp.eval_every == 0 or step == hp.steps:
                dev_stats = dev_metrics(net, inputs, names, dev_draws, hp, hp.batch_size)
                record.update({f"dev_{k}": v for k, v in dev_stats.items()})
                if dev_stats["loss"] < best_score:
                    best_score, bad = dev_stats["loss"], 0
                    best = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    bad += 1
            history.append(record)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(nll=f"{stats['edit_nll']:.3f}", kl=f"{stats.get('loc_kl', 0):.3f}")
            if bad >= hp.patience:
                break
    finally:
        for p, flag in flags.items():
            p.requires_grad_(flag)
        model.train(was_training)
    if best is not None:
        net.load_state_dict(best)
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval(), history


def cache_path(model, hp: MENDHParams) -> Path:
    """Trained networks are cached under the model, every hyperparameter and the data."""
    from ..data.embedded import digest

    return cache_dir() / "mend" / f"{model_name(model)}-{hp.key()}-{digest(('train', 'dev'))}.pt"


def load_or_train(model, tokenizer, hp: MENDHParams, *, train=None, dev=None) -> EditorNetwork:
    """The trained network from the cache, or trained on the embedded train and dev splits and cached."""
    from ..data.embedded import load_embedded

    path = cache_path(model, hp)
    if path.is_file() and train is None:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        net = make_network(model, hp)
        net.load_state_dict(saved["state"])
        for p in net.parameters():
            p.requires_grad_(False)
        net.history = saved["history"]
        return net.eval()
    net, history = train_mend(model, tokenizer, hp, train if train is not None else load_embedded("train"),
                              dev if dev is not None else load_embedded("dev"))
    net.history = history
    if train is None:
        save_atomic({"state": net.state_dict(), "history": history, "hparams": hp.to_dict()}, path)
    return net


def format_history(history: list[dict]) -> str:
    """The dev-split evaluations of a training run, one line each (step 0: the untrained network)."""
    lines = [f"{'step':>5} {'dev loss':>9} {'edit NLL':>9} {'edit token acc.':>16} {'locality KL':>12}"]
    for h in history:
        if "dev_loss" in h:
            lines.append(f"{h['step']:5d} {h['dev_loss']:9.3f} {h['dev_edit_nll']:9.3f} {h['dev_edit_acc']:16.3f} "
                         f"{h.get('dev_loc_kl', float('nan')):12.4f}")
    return "\n".join(lines)
