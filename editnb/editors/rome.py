"""ROME (Meng et al., 2022): a rank-one update of one MLP output projection, with r-ROME's fix.

The MLP output projection W of block L maps a key k (its input at the subject's last token)
to a value.  ROME picks

* k*: the key of the edit's subject, averaged over the prompt preceded by short context
  prefixes the model writes itself (seeded, cached on disk per model);
* v*: a value that makes the model say the new target, found by optimising a vector added to
  W's output at the subject's last token (target NLL, a KL term on "{subject} is a" that
  keeps the subject's other properties, a weight decay, and a norm clamp);

and adds the rank-one ΔW = (v* - W k*) (C⁻¹k*)ᵀ / (k*ᵀ C⁻¹ k*), where C = E[k kᵀ] over real
text (:mod:`editnb.editors.covariance`).  Then W'k* = v* exactly, and keys k with
kᵀC⁻¹k* = 0 are mapped as before.  The same k* appears in the numerator and the denominator:
original ROME used a key of the bare prompt in one place and the averaged one in the other,
which lets ΔW blow up for some edits (the collapse r-ROME fixed).

Subject positions come from the tokenizer's character offsets, never from tokenizing the
prefix and the subject separately (a BPE merge with the preceding space shifts those).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data import EditRequest
from ..models import cache_dir, model_name
from ..progress import progress
from ..results import write_json
from ..tokenization import encode_prompt_target, left_pad, pad_id
from .base import EditedModel, Editor, WeightSnapshot, unwrap
from .covariance import fingerprint, mlp_out_module, second_moment
from .ft import layer_index
from .hparams import HyperParams


@dataclass(frozen=True)
class ROMEHParams(HyperParams):
    """ROME's settings (ROME's GPT-J values for the v* optimisation; the layer is SmolLM2's).

    layer: the block whose MLP output projection is edited (None: a third of the way up);
    context_lengths, contexts_per_length, context_seed: the self-written prefixes k* and v* average over;
    v_steps, v_lr: Adam on v*'s delta; kl_factor: weight of the KL on "{subject} is a";
    v_weight_decay: ``v_weight_decay * |delta| / |v_init|^2``; clamp_norm_factor: |delta| <=
    factor * |v_init|; stop_nll: v* optimisation stops once the mean target NLL is below it;
    stats_tokens, stats_corpus: the text C is computed on.
    """

    layer: int | None = None
    context_lengths: tuple[int, ...] = (5, 10)
    contexts_per_length: int = 5
    context_seed: int = 0
    v_steps: int = 25
    v_lr: float = 0.5
    kl_factor: float = 0.0625
    v_weight_decay: float = 0.5
    clamp_norm_factor: float = 4.0
    stop_nll: float = 0.05
    stats_tokens: int = 100_000
    stats_corpus: str = "wiki"


def rome_layer(model, layer: int | None) -> int:
    return layer_index(model, model.config.num_hidden_layers // 3 if layer is None else layer)


# ---------------------------------------------------------------- where the subject is

def subject_parts(request: EditRequest) -> tuple[str, str]:
    """The request's prompt before and after its subject (the first occurrence)."""
    at = request.prompt.find(request.subject) if request.subject else -1
    if at < 0:
        raise ValueError(f"request {request.id}: subject {request.subject!r} does not occur in prompt {request.prompt!r}")
    return request.prompt[:at], request.prompt[at + len(request.subject):]


def subject_last_token(tokenizer, text: str, start: int, end: int) -> tuple[list[int], int]:
    """Token ids of ``text`` (with the tokenizer's special tokens) and the index of the last
    token overlapping characters [start, end), from the tokenizer's character offsets."""
    enc = tokenizer(text, return_offsets_mapping=True)
    hits = [i for i, (a, b) in enumerate(enc["offset_mapping"]) if b > a and a < end and b > start]
    if not hits:
        raise ValueError(f"no token covers characters {start}:{end} ({text[start:end]!r}) of {text!r}")
    return list(enc["input_ids"]), hits[-1]


def located(tokenizer, prefix: str, before: str, subject: str, after: str) -> tuple[str, list[int], int]:
    """``prefix + before + subject + after``, its token ids, and the subject's last token."""
    text = prefix + before + subject + after
    start = len(prefix) + len(before)
    ids, pos = subject_last_token(tokenizer, text, start, start + len(subject))
    return text, ids, pos


# ---------------------------------------------------------------- context prefixes

def context_prefixes(model, tokenizer, lengths=(5, 10), per_length: int = 5, seed: int = 0) -> list[str]:
    """``""`` (no context) and prefixes the model writes itself (``"<text>. "``), ``per_length``
    of each length in tokens, sampled with ``seed`` from a few opening words; cached on disk
    per model (the same prefixes for every edit and every run with this seed)."""
    key = hashlib.sha256(json.dumps([list(lengths), per_length, seed]).encode()).hexdigest()[:10]
    path = cache_dir() / "rome" / f"contexts-{model_name(model)}-{fingerprint(model)}-{key}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    openings = ["The", "Therefore", "Because", "I", "You"]
    generator = torch.Generator().manual_seed(seed)
    prefixes = [""]
    for length in lengths:
        starts = [openings[i % len(openings)] for i in range(per_length)]
        batch = left_pad([tokenizer(s)["input_ids"] for s in starts], pad_id(tokenizer))
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
        with torch.no_grad():
            out = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], do_sample=True,
                                 top_k=5, max_new_tokens=length, min_new_tokens=length, pad_token_id=pad_id(tokenizer))
        prefixes += [" ".join(text.split()) + ". " for text in tokenizer.batch_decode(out, skip_special_tokens=True)]
    write_json(path, prefixes)
    return prefixes


# ---------------------------------------------------------------- keys and values

class _Stop(Exception):
    pass


@torch.no_grad()
def keys_at(model, tokenizer, module: str, texts_positions: list[tuple[list[int], int]]) -> torch.Tensor:
    """The input of ``module`` at one position of each token sequence: (n, d_in)."""
    batch = left_pad([ids for ids, _ in texts_positions], pad_id(tokenizer))
    width = batch["input_ids"].shape[1]
    rows = torch.arange(len(texts_positions))
    cols = torch.tensor([width - len(ids) + pos for ids, pos in texts_positions])
    got = {}

    def grab(m, args):
        got["k"] = args[0][rows, cols]
        raise _Stop

    handle = model.get_submodule(module).register_forward_pre_hook(grab)
    try:
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"],
              use_cache=False)
    except _Stop:
        pass
    finally:
        handle.remove()
    return got["k"]


def subject_key(model, tokenizer, module: str, request: EditRequest, prefixes: list[str]) -> torch.Tensor:
    """k*: the key at the subject's last token, averaged over the context prefixes."""
    before, after = subject_parts(request)
    found = [located(tokenizer, p, before, request.subject, after)[1:] for p in prefixes]
    return keys_at(model, tokenizer, module, found).mean(0)


KL_SUFFIX = " is a"  # ROME's "{subject} is a": the subject's other properties should not move


def optimise_value(model, tokenizer, module: str, request: EditRequest, prefixes: list[str], hp: ROMEHParams):
    """v*: the output of ``module`` at the subject's last token that makes the model say
    ``target_new`` after every context prefix; returns (v*, v_init, steps taken, final target NLL)."""
    before, after = subject_parts(request)
    rows, spans = [], []
    for p in prefixes:
        text, ids, pos = located(tokenizer, p, before, request.subject, after)
        pair = encode_prompt_target(tokenizer, text, request.target_new)
        if pair.prompt_ids[:pos + 1] != tuple(ids[:pos + 1]):
            raise ValueError(f"request {request.id}: the target {request.target_new!r} merges into the subject's tokens")
        rows.append((pair.ids, pair.labels))
        spans.append(pos)
    _, kl_ids, kl_pos = located(tokenizer, "", "", request.subject, KL_SUFFIX)
    rows.append((kl_ids, [-100] * len(kl_ids)))
    spans.append(kl_pos)
    batch = left_pad([r[0] for r in rows], pad_id(tokenizer), labels=[r[1] for r in rows])
    width = batch["input_ids"].shape[1]
    cols = torch.tensor([width - len(r[0]) + p for r, p in zip(rows, spans)])
    index = torch.arange(len(rows))
    target = model.get_submodule(module)
    state = {"delta": None, "init": None}

    def add_delta(m, args, out):
        if state["init"] is None:
            state["init"] = out[0, cols[0]].detach().clone()  # the bare prompt's value (no prefix)
        if state["delta"] is None:
            return out
        out = out.clone()
        out[index, cols] = out[index, cols] + state["delta"]
        return out

    handle = target.register_forward_hook(add_delta)
    params = [p for p in model.parameters()]
    grads = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
        with torch.no_grad():
            logits = model(**inputs, use_cache=False).logits
            kl_init = F.log_softmax(logits[-1, cols[-1]], -1)
        v_init = state["init"]
        delta = torch.zeros_like(v_init, requires_grad=True)
        state["delta"] = delta
        optimizer = torch.optim.Adam([delta], lr=hp.v_lr)
        labels = batch["labels"][:-1, 1:]
        mask = labels != -100
        steps, nll = 0, float("inf")
        for steps in range(1, hp.v_steps + 1):
            optimizer.zero_grad()
            logits = model(**inputs, use_cache=False).logits
            log_probs = F.log_softmax(logits[:-1, :-1], -1)
            picked = log_probs.gather(-1, labels.clamp(min=0)[..., None])[..., 0] * mask
            nll_each = -picked.sum(1) / mask.sum(1)
            kl = F.kl_div(F.log_softmax(logits[-1, cols[-1]], -1), kl_init, log_target=True, reduction="sum")
            decay = hp.v_weight_decay * delta.norm() / v_init.norm() ** 2
            loss = nll_each.mean() + hp.kl_factor * kl + decay
            nll = nll_each.mean().item()
            if nll < hp.stop_nll:
                break
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                limit = hp.clamp_norm_factor * v_init.norm()
                if delta.norm() > limit:
                    delta.mul_(limit / delta.norm())
    finally:
        handle.remove()
        for p, g in zip(params, grads):
            p.requires_grad_(g)
    return (v_init + delta).detach(), v_init, steps, nll


# ---------------------------------------------------------------- the update

def weight_of(module) -> torch.Tensor:
    """The (d_out, d_in) matrix ``module`` applies: a Linear's weight, a GPT-2 Conv1D's transpose."""
    return module.weight if isinstance(module, torch.nn.Linear) else module.weight.T


def rank_one_update(module, C: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(left, right) with ΔW = right leftᵀ mapping k to v: left = C⁻¹k / (kᵀC⁻¹k) (solved in
    float64), right = v - module(k) (the module's bias, if any, included)."""
    k64 = k.double()
    c_inv_k = torch.linalg.solve(C.double(), k64)
    left = c_inv_k / (k64 @ c_inv_k)
    with torch.no_grad():
        right = v.double() - module(k[None].to(module.weight.dtype))[0].double()
    return left, right


@torch.no_grad()
def add_rank_one(module, left: torch.Tensor, right: torch.Tensor) -> None:
    """W += right leftᵀ (in the weight's own layout and dtype)."""
    delta = torch.outer(right, left).to(module.weight.dtype)
    module.weight.add_(delta if isinstance(module, torch.nn.Linear) else delta.T)


class ROME(Editor):
    """Rank-one model editing; a batch of requests is applied one edit after another."""

    name = "ROME"
    HParams = ROMEHParams

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        base, prior = unwrap(model)
        module_name = mlp_out_module(base, rome_layer(base, self.hparams.layer))
        weight = module_name + ".weight"
        if prior is not None and (type(prior.editor) is not type(self) or weight not in prior.snapshot.params):
            raise ValueError(f"cannot add {self.name} edits to a model edited by {prior.editor.name}; restore it first")
        edited = prior
        if edited is None:
            snapshot = WeightSnapshot(base, [weight])
            edited = EditedModel(base, base, self, snapshot.restore, [])
            edited.snapshot, edited.updates = snapshot, []
        stats = self.statistics(base, tokenizer)
        prefixes = context_prefixes(base, tokenizer, self.hparams.context_lengths, self.hparams.contexts_per_length,
                                    self.hparams.context_seed)
        module = base.get_submodule(module_name)
        for request in progress(list(requests), desc=f"{self.name} edits", disable=len(requests) < 2 or None):
            k = subject_key(base, tokenizer, module_name, request, prefixes)
            v, v_init, steps, nll = optimise_value(base, tokenizer, module_name, request, prefixes, self.hparams)
            left, right = rank_one_update(module, stats, k, v)
            add_rank_one(module, left, right)
            edited.updates.append({"id": request.id, "key": k, "value": v, "steps": steps, "nll": nll})
        edited.requests += list(requests)
        return edited

    def statistics(self, model, tokenizer) -> torch.Tensor:
        """C for the edited layer (computed once per model, then read from the cache)."""
        hp = self.hparams
        return second_moment(model, tokenizer, rome_layer(model, hp.layer), corpus=hp.stats_corpus,
                             n_tokens=hp.stats_tokens).moment
