"""Causal tracing (Meng et al., 2022): where in the network does the model recall a fact?

Run the prompt three ways: clean; with the subject's input embeddings corrupted by Gaussian
noise of ``noise`` times their standard deviation (the model loses the fact); and corrupted
but with *one* internal state restored to its clean value.  The indirect effect of a state is
how much of the answer's probability its restoration brings back,
``P(answer | corrupted, state restored) - P(answer | corrupted)``; averaged over facts it is
the average indirect effect (AIE).  ``kind`` is the state restored: ``hidden`` (a block's
output, the residual stream), ``mlp`` or ``attn`` (that sublayer's output, restored in a
window of ``window`` layers around the layer, as ROME does).

Each restoration runs only the blocks from the first restored one up, on the corrupted run's
cached inputs, with the LM head at the last position (:class:`~editnb.editors.suffix.Suffix`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from .data.answers import primary
from .editors.locate.keys import subject_parts
from .editors.suffix import BLOCKS, Suffix
from .progress import progress
from .tokenization import encode_prompt_target

KINDS = ("hidden", "mlp", "attn")
# Token positions as ROME groups them for the average over facts.
POSITIONS = ("first subject token", "middle subject tokens", "last subject token", "first subsequent token",
             "further tokens", "last token")


@dataclass
class Trace:
    """One fact's indirect effects: ``effects[layer, token]`` (restored minus corrupted probability)."""

    prompt: str
    answer: str
    tokens: list[str]
    subject: tuple[int, int]  # token range [start, end)
    kind: str
    clean: float  # P(answer's first token) on the clean prompt
    corrupted: float
    effects: np.ndarray

    def by_position(self) -> np.ndarray:
        """(layers, 6) effects averaged within ROME's position groups (NaN where a group is empty)."""
        groups = position_groups(len(self.tokens), *self.subject)
        out = np.full((self.effects.shape[0], len(POSITIONS)), np.nan)
        for g, cols in enumerate(groups):
            if cols:
                out[:, g] = self.effects[:, cols].mean(1)
        return out


def position_groups(n_tokens: int, start: int, end: int) -> list[list[int]]:
    """Token indices in each of :data:`POSITIONS`; the last token counts only as itself."""
    last = n_tokens - 1
    groups = [[start], list(range(start + 1, end - 1)), [end - 1], [end], list(range(end + 1, last)), [last]]
    groups = [[t for t in g if t != last] for g in groups[:-1]] + [groups[-1]]
    if end - 1 == start:  # a one-token subject is its first and its last token
        groups[0] = []
    return groups


def subject_tokens(tokenizer, prompt: str, subject_start: int, subject_end: int) -> tuple[list[int], tuple[int, int]]:
    """Token ids of ``prompt`` and the token range overlapping the subject's characters (offsets)."""
    enc = tokenizer(prompt, return_offsets_mapping=True)
    hits = [i for i, (a, b) in enumerate(enc["offset_mapping"]) if b > a and a < subject_end and b > subject_start]
    if not hits:
        raise ValueError(f"no token covers the subject in {prompt!r}")
    return list(enc["input_ids"]), (hits[0], hits[-1] + 1)


def noise_level(model, tokenizer, subjects, factor: float = 3.0) -> float:
    """``factor`` times the standard deviation of the subjects' input embeddings (ROME's 3σ)."""
    ids = [i for s in subjects for i in tokenizer(s, add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        emb = model.get_input_embeddings()(torch.tensor(ids))
    return factor * float(emb.float().std())


def _module_names(model, layer: int) -> dict[str, str]:
    blocks = BLOCKS[model.config.model_type][0]
    attn = "attn" if model.config.model_type == "gpt2" else "self_attn"
    return {"hidden": f"{blocks}.{layer}", "mlp": f"{blocks}.{layer}.mlp", "attn": f"{blocks}.{layer}.{attn}"}


def _out(x):
    return x[0] if isinstance(x, tuple) else x


@torch.no_grad()
def trace_fact(model, tokenizer, request, *, answer: str | None = None, kind: str = "hidden", noise: float,
               samples: int = 3, window: int = 10, seed: int = 0, batch_rows: int = 64) -> Trace:
    """The indirect effect of every (layer, token) state on ``request``'s prompt (see the module)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    answer = answer or primary(request.ground_truth)  # the true answer's first alias
    before, _ = subject_parts(request)
    ids, (s0, s1) = subject_tokens(tokenizer, request.prompt, len(before), len(before) + len(request.subject))
    target = encode_prompt_target(tokenizer, request.prompt, answer).target_ids[0]
    n_layers, T = model.config.num_hidden_layers, len(ids)
    generator = torch.Generator().manual_seed(seed)
    embed = model.get_input_embeddings()
    clean_emb = embed(torch.tensor([ids]))
    eps = torch.randn((samples, s1 - s0, clean_emb.shape[-1]), generator=generator).to(clean_emb)
    corrupt_emb = clean_emb.repeat(samples, 1, 1)
    corrupt_emb[:, s0:s1] += noise * eps
    names = [_module_names(model, layer)[kind] for layer in range(n_layers)]
    clean_states = _record(model, clean_emb, names)
    p_clean = float(torch.softmax(model(inputs_embeds=clean_emb).logits[0, -1].float(), -1)[target])
    p_corrupt = float(torch.softmax(model(inputs_embeds=corrupt_emb).logits[:, -1].float(), -1)[:, target].mean())
    blocks = [_module_names(model, layer)["hidden"] for layer in range(n_layers)]
    block_inputs = _record(model, corrupt_emb, blocks, inputs=True)
    effects = np.zeros((n_layers, T))
    half = window // 2 if kind != "hidden" else 0
    for layer in range(n_layers):
        restored = ([layer] if kind == "hidden" else
                    list(range(max(0, layer - half), min(n_layers, layer - half + window))))
        start = restored[0]
        rows = [(t, s) for t in range(T) for s in range(samples)]
        probs = []
        for i in range(0, len(rows), batch_rows):
            chunk = rows[i:i + batch_rows]
            clean = {names[r]: clean_states[names[r]][0] for r in restored}
            probs.append(_restored_probs(model, block_inputs[blocks[start]], chunk, clean, start, target))
        p = torch.cat(probs).reshape(T, samples).mean(1)
        effects[layer] = (p - p_corrupt).numpy()
    tokens = [tokenizer.decode([i]) for i in ids]
    return Trace(request.prompt, answer, tokens, (s0, s1), kind, p_clean, p_corrupt, effects)


def _record(model, embeds, names, inputs: bool = False) -> dict[str, torch.Tensor]:
    """Each named module's output (or first input) on ``inputs_embeds``."""
    got, handles = {}, []
    for name in names:
        module = model.get_submodule(name)
        if inputs:
            handles.append(module.register_forward_pre_hook(
                lambda m, a, kw, name=name: got.__setitem__(name, (a[0] if a else kw["hidden_states"]).clone()),
                with_kwargs=True))
        else:
            handles.append(module.register_forward_hook(lambda m, a, out, name=name: got.__setitem__(name, _out(out).clone())))
    try:
        model(inputs_embeds=embeds)
    finally:
        for h in handles:
            h.remove()
    return got


def _restored_probs(model, start_inputs, rows, clean, start: int, target: int) -> torch.Tensor:
    """P(target) at the last position for each (token, sample) row: the corrupted run from block
    ``start`` on, with the clean value of every module in ``clean`` put back at the row's token."""
    tokens = torch.tensor([t for t, _ in rows])
    index = torch.arange(len(rows))
    states = [start_inputs[s] for _, s in rows]

    def patch(value):
        def hook(m, a, out):
            x = _out(out).clone()
            x[index, tokens] = value[tokens]
            return (x, *out[1:]) if isinstance(out, tuple) else x
        return hook

    handles = [model.get_submodule(name).register_forward_hook(patch(value)) for name, value in clean.items()]
    T = start_inputs.shape[1]
    mask = torch.ones((len(rows), T), dtype=torch.long)
    batch = {"attention_mask": mask, "position_ids": torch.arange(T).expand(len(rows), T)}
    try:
        logits = Suffix(model, start).logits(states, batch, keep=1)
    finally:
        for h in handles:
            h.remove()
    return torch.softmax(logits[:, -1].float(), -1)[:, target]


def trace_facts(model, tokenizer, requests, *, kind: str = "hidden", noise: float, samples: int = 3,
                window: int = 10, seed: int = 0) -> list[Trace]:
    """:func:`trace_fact` for each request (seeded per fact)."""
    return [trace_fact(model, tokenizer, r, kind=kind, noise=noise, samples=samples, window=window, seed=seed + i)
            for i, r in enumerate(progress(list(requests), desc=f"causal tracing ({kind})"))]


def average_effect(traces: list[Trace]) -> np.ndarray:
    """The AIE by layer and position group, (layers, 6), averaged over the facts that have the group."""
    with warnings.catch_warnings():  # a group no fact has (one-token subjects: no middle) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack([t.by_position() for t in traces]), axis=0)


def peak_layer(traces: list[Trace], position: str = "last subject token") -> int:
    """The layer with the largest average indirect effect at ``position``."""
    return int(np.nanargmax(average_effect(traces)[:, POSITIONS.index(position)]))


def known_facts(model, tokenizer, requests, n: int | None = None) -> list:
    """The first ``n`` requests whose true fact the unedited model completes greedily (prefix verdict)."""
    from .evaluate.knowledge import knows_facts

    known = {row["id"] for row in knows_facts(model, tokenizer, requests) if row["knows"]}
    picked = [r for r in requests if r.id in known]
    return picked if n is None else picked[:n]


def format_peaks(effects: dict, n_layers: int, position: str = "last subject token", top: int = 3,
                 n_facts: int | None = None) -> str:
    """Per kind, the layers with the largest AIE at ``position`` (and their depth fraction),
    averaged over ``n_facts`` facts when given (printed, since a peak over few facts is noisy)."""
    col = POSITIONS.index(position)
    over = f", averaged over {n_facts} facts" if n_facts is not None else ""
    lines = [f"largest average indirect effect at the {position} ({n_layers} layers{over}):"]
    for kind, table in effects.items():
        order = np.argsort(-np.nan_to_num(table[:, col], nan=-np.inf))[:top]
        lines.append(f"  {kind:6} " + ", ".join(f"layer {int(l)} ({l / n_layers:.2f} of depth) {table[l, col]:+.3f}"
                                               for l in order))
    return "\n".join(lines)


PROFILES = (("hidden", "last subject token"), ("mlp", "last subject token"), ("attn", "last token"))


def format_profiles(traces: dict, effects: dict, profiles=PROFILES) -> str:
    """The answer's mean probability clean and corrupted over the facts (their difference is the
    most a restoration can bring back), then for each (kind, position) of ``profiles`` the
    average indirect effect at every layer in one line: a plateau or a drop is read from
    printed numbers, not only from the figure."""
    facts = next(iter(traces.values()))
    clean, corrupted = float(np.mean([t.clean for t in facts])), float(np.mean([t.corrupted for t in facts]))
    lines = [f"P(answer's first token) over {len(facts)} facts: clean {clean:.3f}, corrupted {corrupted:.3f} "
             f"(the most a restoration can bring back: {clean - corrupted:+.3f})"]
    for kind, position in profiles:
        if kind in effects:
            row = effects[kind][:, POSITIONS.index(position)]
            lines.append(f"{kind} at the {position}, layers 0-{len(row) - 1}: "
                         + " ".join("nan" if np.isnan(v) else f"{v:+.2f}" for v in row))
    return "\n".join(lines)
