"""MEND (Mitchell et al., ICLR 2022): editor networks that turn a fine-tuning gradient into an edit.

For a linear layer y = W u, the gradient of a loss on one input is a sum over its tokens of
rank-one terms, ∇W = Σ_t δ_t u_tᵀ, with u_t the layer's input at token t and δ_t the loss's
gradient with respect to the layer's output there.  MEND never forms ∇W.  An editor network maps
each token's pair (u_t, δ_t) to a pseudo-pair (ũ_t, δ̃_t), and the edit is

    W  ←  W − η_l Σ_t δ̃_t ũ_tᵀ,

with a learned step η_l per edited layer.  The loss whose gradient is decomposed is the NLL of
the new target after the edit's prompt (``masked_log_probs``'s quantity, a mean over the
target's tokens).  :mod:`editnb.editors.mend_train` trains the networks on the train split.

The edited weights are the MLP output projections of the last ``n_layers`` blocks (EasyEdit
edits the three MLP weights of the last three blocks; the output projections alone keep
training within minutes on a CPU).  They all have the same shape, so one network serves
them, told apart by a learned scale and shift per layer (MEND's ``shared`` mode).  As in MEND's
code: inputs normalised per feature (here with statistics of the train split, fixed before
training, instead of running ones), two low-rank residual layers initialised to the identity,
first-order training.  Unlike MEND's code, the update is *subtracted*, as in the paper (the code
adds it; the author called that a bug), and the step sizes train in the one optimizer.

Edits are additive: each token contributes its own rank-one term, so a batch edit of K requests
is the sum of the K single edits' updates, and ``apply_each`` keeps each edit's factors
(ũ, −η δ̃) and adds ``(x ũᵀ)(−η δ̃)`` to the rows of that edit only, without forming ΔW.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..losses import per_example_log_probs
from ..progress import progress
from ..tokenization import encode_prompt_target, teacher_forced_batch
from . import register
from .base import EditedModel, Editor, RowEdits, unwrap, weight_edit_target
from .deltas import in_weight_layout
from .ft import weight_name
from .hparams import HyperParams


@dataclass(frozen=True)
class MENDHParams(HyperParams):
    """MEND's settings.

    n_layers: the last blocks whose MLP output projection is edited (EasyEdit: 3); rank: the
    editor network's low-rank width (EasyEdit 1920 on 7B models); edit_lr: the initial step
    η of every layer (EasyEdit's 1e-4); steps, batch_size, lr, lr_lr: Adam on the networks
    (lr) and the steps η (lr_lr), ``batch_size`` edits per step; c_edit, c_loc: weights of the
    edit NLL (the edit's prompt and one rephrase, after the edit) and of the KL locality loss
    (an unrelated prompt, at the positions that predict its answer); grad_clip: of the networks' gradient;
    eval_every, patience: selection on the dev split (the training loss there); n_norm: train
    edits whose token pairs give the input statistics; n_train: train requests used (None: all).
    c_edit is 1 after the dev sweep in ``results/dev_sweeps.md`` (EasyEdit's 0.1 scored lower).
    """

    n_layers: int = 3
    rank: int = 128
    edit_lr: float = 1e-4
    steps: int = 300
    batch_size: int = 8
    lr: float = 1e-4
    lr_lr: float = 1e-4
    c_edit: float = 1.0
    c_loc: float = 1.0
    grad_clip: float = 100.0
    eval_every: int = 50
    patience: int = 3
    n_norm: int = 64
    n_train: int | None = None
    seed: int = 0


def edited_modules(model, n_layers: int) -> list[str]:
    """Names of the MLP output projections of the last ``n_layers`` blocks."""
    total = model.config.num_hidden_layers
    if not 1 <= n_layers <= total:
        raise ValueError(f"n_layers must be between 1 and {total}, got {n_layers}")
    return [weight_name(model, layer).removesuffix(".weight") for layer in range(total - n_layers, total)]


class LowRankLayer(nn.Module):
    """x + max((up · down) x + b, scaled and shifted per edited layer, 0): the identity at init.

    The max is ``clamp(min=0)``, as in MEND's code, not ``relu``: at init every pre-activation
    is exactly 0, where torch gives relu a zero gradient (the network would never leave the
    identity; only the steps η would train) and clamp a gradient of one."""

    def __init__(self, dim: int, rank: int, n_modes: int):
        super().__init__()
        self.down = nn.Linear(dim, rank, bias=False)
        self.up = nn.Linear(rank, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)
        self.scale = nn.Parameter(torch.ones(n_modes, dim))
        self.shift = nn.Parameter(torch.zeros(n_modes, dim))

    def forward(self, x, mode: int):
        return x + torch.clamp(self.up(self.down(x)) * self.scale[mode] + self.shift[mode], min=0)


class EditorNetwork(nn.Module):
    """Maps each token's (u, δ) of edited layer ``mode`` to (ũ, δ̃); holds the steps η."""

    def __init__(self, d_in: int, d_out: int, n_modes: int, rank: int, edit_lr: float):
        super().__init__()
        dim = d_in + d_out
        self.d_in = d_in
        self.register_buffer("mean", torch.zeros(n_modes, dim))
        self.register_buffer("std", torch.ones(n_modes, dim))
        self.layers = nn.ModuleList([LowRankLayer(dim, min(rank, dim), n_modes) for _ in range(2)])
        self.edit_lrs = nn.Parameter(torch.full((n_modes,), float(edit_lr)))

    @torch.no_grad()
    def set_statistics(self, mode: int, u: torch.Tensor, delta: torch.Tensor) -> None:
        x = torch.cat([u, delta], -1).float()
        self.mean[mode] = x.mean(0)
        self.std[mode] = x.std(0) + 1e-7

    def factors(self, mode: int, u: torch.Tensor, delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ũ, −η δ̃) for tokens (rows) of layer ``mode``: ΔW = (−η δ̃)ᵀ ũ, shape (d_out, d_in)."""
        device = self.mean.device
        x = (torch.cat([u.to(device), delta.to(device)], -1).float() - self.mean[mode]) / self.std[mode]
        for layer in self.layers:
            x = layer(x, mode)
        return x[:, :self.d_in], -self.edit_lrs[mode] * x[:, self.d_in:]


def make_network(model, hp: MENDHParams) -> EditorNetwork:
    module = model.get_submodule(edited_modules(model, hp.n_layers)[0])
    d_in, d_out = (module.weight.shape[1], module.weight.shape[0]) if isinstance(module, nn.Linear) else module.weight.shape
    return EditorNetwork(int(d_in), int(d_out), hp.n_layers, hp.rank, hp.edit_lr)


def _capture(output_hooks: dict):
    """A forward hook that keeps the module's input and an output that takes part in autograd
    (with every weight frozen, the first edited layer's output would otherwise have no graph)."""
    def hook(module, args, output):
        if not output.requires_grad:
            output = output.detach().requires_grad_()
        output_hooks[module] = (args[0].detach(), output)
        return output
    return hook


def token_pairs(model, tokenizer, requests, module_names, run=None) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Per request and edited module: (u, δ) at the request's tokens (padding left out), δ of the
    mean NLL of ``target_new`` after the prompt.  Requests are independent: each one's rows
    carry only its own loss's gradient.  ``run(batch)`` gives the logits (default: the model)."""
    batch = teacher_forced_batch(tokenizer, [encode_prompt_target(tokenizer, r.prompt, r.target_new) for r in requests])
    modules = [model.get_submodule(n) for n in module_names]
    seen = {}
    handles = [m.register_forward_hook(_capture(seen)) for m in modules]
    try:
        with torch.enable_grad():
            inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
            logits = run(batch) if run is not None else model(**inputs, use_cache=False).logits
            labels = batch["labels"][:, -logits.shape[1]:]
            nll = per_example_log_probs(logits, labels)["nll"].sum()
            grads = torch.autograd.grad(nll, [seen[m][1] for m in modules])
    finally:
        for h in handles:
            h.remove()
    mask = batch["attention_mask"].bool()
    return [[(seen[m][0][i][mask[i].to(seen[m][0].device)], g[i][mask[i].to(g.device)].detach())
             for m, g in zip(modules, grads)] for i in range(len(requests))]


class LowRankRows:
    """Per-row low-rank edits of one module: row b of a batch gets ``(x_b ũ_kᵀ)(−η δ̃_k)`` added,
    with k its edit (``row_edits``); ``factors[k]`` = (ũ_k, −η δ̃_k)."""

    def __init__(self, module, row_edits, factors):
        self.row_edits, self.factors = row_edits, factors
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        x = args[0]
        ids = self.row_edits.current(x.shape[0]).tolist()
        change = torch.zeros_like(output)
        for k in dict.fromkeys(ids):
            rows = [i for i, e in enumerate(ids) if e == k]
            if not len(self.factors[k][0]):
                continue  # a stream with no edit yet
            u, d = (f.to(device=x.device, dtype=x.dtype) for f in self.factors[k])
            change[rows] = (x[rows] @ u.T) @ d
        return output + change

    def remove(self):
        self.handle.remove()
        self.factors = None


@register
class MEND(Editor):
    """MEND: trained editor networks map the edit's gradient to a weight update of the last blocks."""

    name = "MEND"
    HParams = MENDHParams

    def __init__(self, hparams=None, **overrides):
        super().__init__(hparams, **overrides)
        self._networks = {}

    def network(self, model, tokenizer) -> EditorNetwork:
        """The trained editor network for ``model`` (trained once, then read from the cache)."""
        from .mend_train import load_or_train

        key = id(model)
        if key not in self._networks:
            self._networks[key] = (model, load_or_train(model, tokenizer, self.hparams))
        return self._networks[key][1]

    def edit_factors(self, model, tokenizer, requests, net) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
        """Per request and edited module: the factors (ũ, −η δ̃) of its update, on the current weights."""
        names = edited_modules(model, self.hparams.n_layers)
        with torch.no_grad():
            return [[net.factors(mode, u, d) for mode, (u, d) in enumerate(pairs)]
                    for pairs in token_pairs(model, tokenizer, requests, names)]

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        """``sequential=False``: one update from the requests' gradients together (the sum of
        their single updates); ``True``: one request at a time, each gradient taken on the model
        that already holds the earlier edits."""
        base, prior = unwrap(model)
        net = self.network(base, tokenizer)
        names = edited_modules(base, self.hparams.n_layers)
        edited = weight_edit_target(self, base, prior, [n + ".weight" for n in names])
        groups = [[r] for r in requests] if sequential else [list(requests)]
        for group in progress(groups, desc=f"{self.name} edits", disable=len(groups) < 2 or None):
            per_request = self.edit_factors(base, tokenizer, group, net)
            with torch.no_grad():
                for mode, name in enumerate(names):
                    module = base.get_submodule(name)
                    u = torch.cat([f[mode][0] for f in per_request]).double()
                    d = torch.cat([f[mode][1] for f in per_request]).double()
                    module.weight.add_(in_weight_layout(module, d.T @ u).to(module.weight.device))
        edited.requests += list(requests)
        return edited

    def apply_each(self, model, tokenizer, requests, *, batch_size: int = 16) -> EditedModel:
        """Every request as its own single edit (see ``Editor.apply_each``): the factors of each
        edit's update, added per row through a hook; the weights stay as they are."""
        return self.apply_streams(model, tokenizer, [[r] for r in requests], batch_size=batch_size)

    def apply_streams(self, model, tokenizer, streams, *, batch_size: int = 16) -> EditedModel:
        """K sequences of edits side by side (see ``Editor.apply_streams``).  Stream k's update is
        the sum of its edits' rank-one terms, so its factors are their concatenation; its next
        edit's gradient is taken with the stream's edits in place (its rows see them), as a
        sequential ``apply`` takes it on the edited weights."""
        base, prior = unwrap(model)
        streams = [list(s) for s in streams]
        names = edited_modules(base, self.hparams.n_layers)
        net = self.network(base, tokenizer)  # before any hook: a first call trains it on the unedited model
        if prior is not None:
            if not prior.each or type(prior.editor) is not type(self) or len(prior.slots) != len(streams):
                raise ValueError(f"continue streams on this editor's apply_streams result with as many streams "
                                 f"({len(prior.slots) if prior.each else 'none'}), or restore the model first")
            edited, hooks = prior, prior.hooks
        else:
            row_edits = RowEdits()
            empty = [self._no_factors(base.get_submodule(name)) for name in names]
            hooks = [LowRankRows(base.get_submodule(name), row_edits, [empty[mode]] * len(streams)) for mode, name in enumerate(names)]

            def remove():
                for h in hooks:
                    h.remove()

            edited = EditedModel(base, base, self, remove, [], row_edits=row_edits, slots=[[] for _ in streams])
            edited.hooks = hooks
        for t in range(max((len(s) for s in streams), default=0)):
            active = [k for k, s in enumerate(streams) if t < len(s)]
            for i in range(0, len(active), batch_size):
                chunk = active[i:i + batch_size]
                with edited.row_edits(chunk, len(streams)):
                    found = self.edit_factors(base, tokenizer, [streams[k][t] for k in chunk], net)
                for k, factors in zip(chunk, found):
                    for hook, (u, d) in zip(hooks, factors):
                        old_u, old_d = hook.factors[k]
                        hook.factors[k] = (torch.cat([old_u, u.to(old_u)]), torch.cat([old_d, d.to(old_d)]))
                    edited.slots[k].append(streams[k][t])
        edited.requests = [r for slot in edited.slots for r in slot]
        return edited

    @staticmethod
    def _no_factors(module) -> tuple[torch.Tensor, torch.Tensor]:
        """The factors of no update: ũ of shape (0, d_in) and δ̃ of shape (0, d_out)."""
        weight = module.weight
        d_out, d_in = weight.shape if isinstance(module, nn.Linear) else weight.shape[::-1]
        device = weight.device if weight.device.type != "meta" else torch.device("cpu")
        return torch.zeros(0, d_in, device=device), torch.zeros(0, d_out, device=device)
