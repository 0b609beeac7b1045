"""MEMIT (Meng et al., 2023) and AlphaEdit (Fang et al., 2025): batch edits spread over several layers.

For a batch of edits, MEMIT finds each edit's target z: the residual stream after the last
edited layer L, at the subject's last token, plus the v* delta of :mod:`.values` (a delta
added to block L's MLP output is a delta added to the residual stream there).  Then, layer by
layer from the lowest, with K the edits' keys at that layer (rows, averaged over the context
prefixes) and R the residuals z - (what the model now writes at L) divided over the layers
still to come, each layer's MLP output projection gets

    MEMIT:      ΔW = Rᵀ K (λC + KᵀK)⁻¹                 (solved in float64)
    AlphaEdit:  ΔW = Rᵀ K (P(KᵀK + K_pᵀK_p) + αI)⁻¹ P

where C = E[k kᵀ] over real text, P projects onto C's null space (the directions holding the
smallest ``null_energy`` share of C's trace: a fraction of the spectrum, which carries across
models, not EasyEdit's absolute eigenvalue threshold, which does not), and K_p are the keys of
earlier edits of the same EditedModel (sequential editing; kept there, not in a global cache).
AlphaEdit's ΔW vanishes on every key in C's column space outside the null space: the text
statistics C was computed from are left as they were.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...models import cache_dir
from ...results import save_atomic
from .. import register
from ..base import EditedModel, Editor, RowEdits, unwrap, weight_edit_target
from ..deltas import RowDeltas, in_weight_layout
from ..hparams import HyperParams
from ..suffix import BLOCKS
from .covariance import fingerprint, mlp_out_module, second_moments
from .keys import at_subjects, prefixes_for
from .values import cached_values


@dataclass(frozen=True)
class MEMITHParams(HyperParams):
    """MEMIT's settings.

    layers: the edited blocks (None: ``layer_fractions`` of the depth, the span 4-8 of 32 that
    MEMIT uses on 7B models); the v* settings as ROME's (:class:`~.rome.ROMEHParams`);
    mom2_update_weight: λ, how much C's keys weigh against the edits' keys (None:
    ``mom2_per_dim`` times the keys' dimension).  For a key k drawn like the text's keys,
    kᵀC⁻¹k is about that dimension d, and one layer writes s/(1+s) of its residual with
    s = kᵀ(λC)⁻¹k ≈ d/λ: MEMIT's λ = 15000 writes about half on GPT-J (d = 16384) and 40% on
    Llama-7B (d = 11008), but a tenth on SmolLM2 (d = 1536).  A λ proportional to d carries
    the same balance across models.
    """

    layers: tuple[int, ...] | None = None
    layer_fractions: tuple[float, float] = (0.125, 0.25)
    context_lengths: tuple[int, ...] = (5, 10)
    contexts_per_length: int = 5
    context_seed: int = 0
    v_steps: int = 25
    v_lr: float = 0.5
    kl_factor: float = 0.0625
    v_weight_decay: float = 0.5
    clamp_norm_factor: float = 4.0
    stop_nll: float = 0.05
    mom2_update_weight: float | None = None
    mom2_per_dim: float = 1.0
    stats_tokens: int = 100_000
    stats_corpus: str = "wiki"


@dataclass(frozen=True)
class AlphaEditHParams(MEMITHParams):
    """AlphaEdit's settings: MEMIT's, with the null space's share of C's trace and the ridge α.

    null_energy: the null space is spanned by C's smallest eigenvectors holding this share of
    its trace (on SmolLM2's layers 4-8, 0.05 is 250-330 of 1536 directions);
    l2: α (None: ``l2_share`` times C's trace).  One edit writes about s/(1+s) of its residual,
    s = kᵀPk/α, and kᵀPk is about ``null_energy`` times the trace for a typical key: EasyEdit's
    absolute α = 10, on SmolLM2 whose traces are 26-67, would write a few percent.
    """

    null_energy: float = 0.05
    l2: float | None = None
    l2_share: float = 1e-3


def edit_layers(model, hp) -> list[int]:
    """The blocks MEMIT edits: ``hp.layers``, or the span of ``hp.layer_fractions`` of the depth."""
    n = model.config.num_hidden_layers
    if hp.layers is not None:
        return sorted(layer % n for layer in hp.layers)
    low, high = (min(n - 1, round(f * n)) for f in hp.layer_fractions)
    return list(range(low, high + 1))


def block_name(model, layer: int) -> str:
    kind = model.config.model_type
    if kind not in BLOCKS:
        raise ValueError(f"no decoder blocks known for a '{kind}' model; known: {sorted(BLOCKS)}")
    return f"{BLOCKS[kind][0]}.{layer}"


def memit_update(C: torch.Tensor, K: torch.Tensor, R: torch.Tensor, lam: float) -> torch.Tensor:
    """ΔW = Rᵀ K (λC + KᵀK)⁻¹ for keys K (n, d_in) and residuals R (n, d_out), in float64."""
    K, R = K.double(), R.double()
    return torch.linalg.solve(lam * C.double() + K.T @ K, K.T @ R).T


def alpha_update(P: torch.Tensor, K_prior: torch.Tensor, K: torch.Tensor, R: torch.Tensor, l2: float) -> torch.Tensor:
    """AlphaEdit's ΔW = Rᵀ K (P(KᵀK + K_prior) + αI)⁻¹ P, with ``K_prior`` = K_pᵀK_p, in float64."""
    K, R, P = K.double(), R.double(), P.double()
    eye = torch.eye(P.shape[0], dtype=torch.float64)
    return torch.linalg.solve(P @ (K.T @ K + K_prior.double()) + l2 * eye, P @ K.T @ R).T


def null_projection(C: torch.Tensor, energy: float) -> torch.Tensor:
    """The projection onto the eigenvectors of C with the smallest eigenvalues that together hold
    at most ``energy`` of C's trace."""
    if not 0 < energy < 1:
        raise ValueError(f"null_energy must be in (0, 1), got {energy}")
    values, vectors = torch.linalg.eigh(C.double())  # ascending
    share = values.clamp(min=0).cumsum(0) / values.clamp(min=0).sum()
    null = vectors[:, share <= energy]
    return null @ null.T


@register
class MEMIT(Editor):
    """Mass-editing memory in a transformer: one update per edited layer for a whole batch."""

    name = "MEMIT"
    HParams = MEMITHParams

    # ------------------------------------------------------------ what every apply needs
    def _setup(self, model, tokenizer):
        hp = self.hparams
        layers = edit_layers(model, hp)
        modules = [mlp_out_module(model, layer) for layer in layers]
        stats = [m.moment for m in second_moments(model, tokenizer, layers, corpus=hp.stats_corpus, n_tokens=hp.stats_tokens)]
        prefixes = prefixes_for(model, tokenizer, hp)
        return layers, modules, stats, prefixes, None

    def _update(self, i: int, setup, K, R, prior) -> torch.Tensor:
        """Layer ``i``'s ΔW (d_out, d_in) for keys K and residuals R."""
        return memit_update(setup[2][i], K, R, self.mom2_weight(K.shape[1]))

    def mom2_weight(self, d_in: int) -> float:
        """λ: ``mom2_update_weight``, or ``mom2_per_dim`` times the keys' dimension."""
        hp = self.hparams
        return hp.mom2_update_weight if hp.mom2_update_weight is not None else hp.mom2_per_dim * d_in

    def _targets(self, model, tokenizer, requests, setup) -> tuple[list, torch.Tensor]:
        """Each edit's v* result and its target z at the last edited layer (float64, (n, d))."""
        layers, modules, _, prefixes, _ = setup
        values = cached_values(model, tokenizer, modules[-1], layers[-1], requests, prefixes, self.hparams)
        now = at_subjects(model, tokenizer, block_name(model, layers[-1]), requests, [""], output=True)
        return values, now.double() + torch.stack([v.delta for v in values]).double()

    def _spread(self, model, tokenizer, requests, setup, z, write, prior=None, row_context=None) -> list[dict]:
        """MEMIT's layer loop, from the lowest edited layer up: each layer's keys K and residuals
        R = (z - what the model now writes at the last layer) / (layers left), then its update,
        installed by ``write(i, ΔW)`` (or ``write(i, [ΔW of each edit])`` for separate edits,
        with ``row_context`` giving each row its own edit) before the next layer is read."""
        layers, modules, _, prefixes, _ = setup
        top = block_name(model, layers[-1])
        record = []
        for i, module in enumerate(modules):
            K = at_subjects(model, tokenizer, module, requests, prefixes, row_context=row_context)
            now = at_subjects(model, tokenizer, top, requests, [""], output=True, row_context=row_context)
            R = (z - now.double()) / (len(layers) - i)
            if row_context is None:
                write(i, self._update(i, setup, K, R, prior))
            else:
                write(i, [self._update(i, setup, K[e:e + 1], R[e:e + 1], None) for e in range(len(requests))])
            record.append({"layer": layers[i], "keys": K, "residuals": R})
        self._remember(prior, record)
        return record

    def _remember(self, prior, record) -> None:
        """What sequential editing carries from one apply to the next (AlphaEdit: the keys)."""

    # ------------------------------------------------------------ the editor's shape
    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        base, prior = unwrap(model)
        # C, the prefixes (and AlphaEdit's projections) are the unedited model's: computed on the
        # first apply, kept in the EditedModel for later ones (the edited weights would change
        # the model's fingerprint and so the cached statistics)
        setup = prior.setup if prior is not None and hasattr(prior, "setup") else self._setup(base, tokenizer)
        edited = weight_edit_target(self, base, prior, [m + ".weight" for m in setup[1]])
        if prior is None:
            edited.updates, edited.layer_updates, edited.prior_keys, edited.setup = [], [], {}, setup
        modules = [base.get_submodule(m) for m in setup[1]]

        @torch.no_grad()
        def write(i, delta):
            modules[i].weight.add_(in_weight_layout(modules[i], delta).to(modules[i].weight.device))

        for batch in ([[r] for r in requests] if sequential else [list(requests)]):
            values, z = self._targets(base, tokenizer, batch, setup)
            edited.layer_updates.append(self._spread(base, tokenizer, batch, setup, z, write, prior=edited))
            edited.updates += [{"id": r.id, "steps": v.steps, "nll": v.nll} for r, v in zip(batch, values)]
        edited.requests += list(requests)
        return edited

    def apply_each(self, model, tokenizer, requests, *, group: int = 16) -> EditedModel:
        """Every request as its own MEMIT edit of the unedited model (see ``Editor.apply_each``):
        one delta per edit and layer, each edit's keys read with its own lower-layer deltas."""
        base, prior = unwrap(model)
        if prior is not None:
            raise ValueError("apply_each edits the unedited model; restore the EditedModel first")
        requests = list(requests)
        setup = self._setup(base, tokenizer)
        modules = [base.get_submodule(m) for m in setup[1]]
        row_edits = RowEdits()
        all_deltas = [[] for _ in modules]
        updates = []
        for start in range(0, len(requests), group):
            chunk = requests[start:start + group]
            values, z = self._targets(base, tokenizer, chunk, setup)
            updates += [{"id": r.id, "steps": v.steps, "nll": v.nll} for r, v in zip(chunk, values)]
            deltas = [torch.stack([RowDeltas.zeros(m) for _ in chunk]) for m in modules]
            local = RowEdits()
            hooks = [RowDeltas(m, local, d) for m, d in zip(modules, deltas)]

            def write(i, per_edit, deltas=deltas):
                for e, delta in enumerate(per_edit):
                    deltas[i][e] = in_weight_layout(modules[i], delta).to(deltas[i].device)

            try:
                self._spread(base, tokenizer, chunk, setup, z, write, row_context=lambda ids: local(ids, len(chunk)))
            finally:
                for h in hooks:
                    h.remove()
            for i, d in enumerate(deltas):
                all_deltas[i].append(d)
        hooks = [RowDeltas(m, row_edits, torch.cat(d) if d else RowDeltas.zeros(m)[None][:0])
                 for m, d in zip(modules, all_deltas)]
        edited = EditedModel(base, base, self, lambda: [h.remove() for h in hooks], requests, row_edits=row_edits)
        edited.deltas, edited.updates = hooks, updates
        edited.steps = [u["steps"] for u in updates]
        return edited


@register
class AlphaEdit(MEMIT):
    """MEMIT's update projected onto the null space of C (the knowledge C summarises stays put)."""

    name = "AlphaEdit"
    HParams = AlphaEditHParams

    def _setup(self, model, tokenizer):
        layers, modules, stats, prefixes, _ = super()._setup(model, tokenizer)
        projections = [null_space(model, module, C, self.hparams) for module, C in zip(modules, stats)]
        return layers, modules, stats, prefixes, projections

    def _update(self, i, setup, K, R, prior) -> torch.Tensor:
        stats, projections = setup[2], setup[4]
        keys = getattr(prior, "prior_keys", {}) if prior is not None else {}
        k_prior = keys.get(i, torch.zeros_like(stats[i], dtype=torch.float64))
        hp = self.hparams
        alpha = hp.l2 if hp.l2 is not None else hp.l2_share * float(torch.trace(stats[i].double()))
        return alpha_update(projections[i], k_prior, K, R, alpha)

    def _remember(self, prior, record) -> None:
        if prior is None:
            return
        for i, layer in enumerate(record):
            K = layer["keys"].double()
            prior.prior_keys[i] = prior.prior_keys.get(i, 0) + K.T @ K


def null_space(model, module: str, C: torch.Tensor, hp: AlphaEditHParams) -> torch.Tensor:
    """:func:`null_projection` of ``module``'s C, cached under ``EDITNB_CACHE/stats`` with the
    model's weight fingerprint in the name (EasyEdit reuses one projection file for any model)."""
    path = (cache_dir() / "stats" / f"null-{fingerprint(model)}" /
            f"{module}-{hp.stats_corpus}-{hp.stats_tokens}-{hp.null_energy}.pt")
    if path.is_file():
        return torch.load(path)
    P = null_projection(C, hp.null_energy)
    save_atomic(P, path)
    return P
