"""Second moments of an MLP projection's inputs over real text, C = E[k k^T], cached per model.

ROME, MEMIT and AlphaEdit weigh an edit's key against the keys the layer sees in ordinary
text through C.  C is accumulated in float64 (float16 statistics lose the small eigenvalues
that C's inverse and AlphaEdit's null space depend on) over fixed-length chunks of a corpus:
the Wikipedia sample of :mod:`editnb.data.wiki`, or the model's own sampled text.  A cached C
is keyed by the model's name *and* a fingerprint of its weights up to the layer, the layer's
module, the corpus and the token count, so that a file is never reused for another model.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from ...models import cache_dir, model_name
from ...progress import progress
from ...results import save_atomic
from ...tokenization import left_pad, pad_id
from ..ft import MLP_OUT, layer_index

CORPORA = ("wiki", "model")


class _Stop(Exception):
    pass


@dataclass
class SecondMoment:
    """Sum of k k^T over ``n`` tokens (float64); ``moment`` is the mean."""

    total: torch.Tensor
    n: int

    @property
    def moment(self) -> torch.Tensor:
        return self.total / max(self.n, 1)


def mlp_out_module(model, layer: int | None) -> str:
    """Name of the MLP output projection of ``layer`` (the module whose inputs are the keys)."""
    kind = model.config.model_type
    if kind not in MLP_OUT:
        raise ValueError(f"no MLP output projection known for a '{kind}' model; known: {sorted(MLP_OUT)}")
    return MLP_OUT[kind].format(layer_index(model, layer))


def token_chunks(tokenizer, texts, seq_len: int, max_tokens: int) -> list[list[int]]:
    """Texts tokenized one after another and cut into chunks of ``seq_len`` tokens (a shorter
    last piece of a text is kept if it has at least 8 tokens), until ``max_tokens``."""
    chunks, count = [], 0
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        for start in range(0, len(ids), seq_len):
            piece = ids[start:start + seq_len]
            if len(piece) < 8:
                continue
            piece = piece[:max_tokens - count]
            chunks.append(piece)
            count += len(piece)
            if count >= max_tokens:
                return chunks
    return chunks


@torch.no_grad()
def accumulate(model, tokenizer, modules: list[str], chunks, *, batch_size: int = 8, checkpoints=(),
               desc: str = "second moment") -> tuple[dict[str, SecondMoment], list]:
    """C's sums for each of ``modules`` over ``chunks`` (the forward pass stops after the
    deepest module), and a snapshot each time the token count passes one of ``checkpoints``:
    ``({module: SecondMoment}, [(n_tokens, {module: SecondMoment}), ...])``."""
    found = {name: model.get_submodule(name) for name in modules}
    sums = {name: None for name in modules}
    count, snapshots, todo = 0, [], sorted(checkpoints)
    mask_now = {}

    def hook_for(name, last):
        def hook(module, args):
            x = args[0]
            keys = x[mask_now["mask"].to(x.device)].double()
            s = keys.T @ keys
            sums[name] = s if sums[name] is None else sums[name] + s
            if last:
                raise _Stop
        return hook

    order = [n for n, _ in model.named_modules() if n in found]
    handles = [found[n].register_forward_pre_hook(hook_for(n, n == order[-1])) for n in order]
    try:
        batches = [chunks[i:i + batch_size] for i in range(0, len(chunks), batch_size)]
        for batch_chunks in progress(batches, desc=desc):
            batch = left_pad(batch_chunks, pad_id(tokenizer))
            mask_now["mask"] = batch["attention_mask"].bool()
            try:
                model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                      position_ids=batch["position_ids"], use_cache=False)
            except _Stop:
                pass
            count += int(batch["attention_mask"].sum())
            while todo and count >= todo[0]:
                snapshots.append((count, {n: SecondMoment(sums[n].clone(), count) for n in modules}))
                todo.pop(0)
    finally:
        for h in handles:
            h.remove()
    return {n: SecondMoment(sums[n], count) for n in modules}, snapshots


def model_texts(model, tokenizer, n_texts: int, length: int = 128, seed: int = 0, batch_size: int = 16) -> list[str]:
    """The model's own text: ``n_texts`` samples of ``length`` tokens from its BOS (or EOS) token."""
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    generator = torch.Generator().manual_seed(seed)
    texts = []
    for i in range(0, n_texts, batch_size):
        n = min(batch_size, n_texts - i)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
        out = model.generate(input_ids=torch.full((n, 1), start), attention_mask=torch.ones(n, 1, dtype=torch.long),
                             do_sample=True, top_k=0, top_p=1.0, temperature=1.0, max_new_tokens=length,
                             min_new_tokens=length, pad_token_id=pad_id(tokenizer))
        texts += tokenizer.batch_decode(out[:, 1:], skip_special_tokens=True)
    return texts


def corpus_texts(model, tokenizer, corpus: str, n_tokens: int, seed: int = 0) -> list[str]:
    if corpus == "wiki":
        from ...data.wiki import wiki_articles

        return list(wiki_articles())
    if corpus == "model":
        return model_texts(model, tokenizer, n_texts=-(-n_tokens // 128), length=128, seed=seed)
    raise ValueError(f"corpus must be one of {CORPORA}, got {corpus!r}")


def fingerprint(model) -> str:
    """A hash of the model's weights (a strided sample of every tensor, with names and shapes):
    two models share cached statistics only if these agree."""
    digest = hashlib.sha256(model_name(model).encode())
    for name, p in model.named_parameters():
        digest.update(f"{name}{tuple(p.shape)}".encode())
        digest.update(p.detach().flatten()[::997].double().cpu().numpy().tobytes())
    return digest.hexdigest()[:12]


def second_moment(model, tokenizer, layer: int | None = None, *, corpus: str = "wiki", n_tokens: int = 100_000,
                  seq_len: int = 256, batch_size: int = 8, seed: int = 0, cache: bool = True) -> SecondMoment:
    """C for the MLP output projection of ``layer``, from ``n_tokens`` tokens of ``corpus``;
    read from (and written atomically to) ``EDITNB_CACHE/stats`` unless ``cache=False``."""
    return second_moments(model, tokenizer, [layer], corpus=corpus, n_tokens=n_tokens, seq_len=seq_len,
                          batch_size=batch_size, seed=seed, cache=cache)[0]


def second_moments(model, tokenizer, layers, *, corpus: str = "wiki", n_tokens: int = 100_000, seq_len: int = 256,
                   batch_size: int = 8, seed: int = 0, cache: bool = True) -> list[SecondMoment]:
    """:func:`second_moment` for several layers, computed in one pass for those not cached."""
    modules = [mlp_out_module(model, layer) for layer in layers]
    folder = cache_dir() / "stats" / f"{model_name(model)}-{fingerprint(model)}"
    paths = {m: folder / f"{m}-{corpus}-{seed}-{n_tokens}-{seq_len}.pt" for m in modules}
    found = {m: torch.load(paths[m]) for m in modules if cache and paths[m].is_file()}
    missing = [m for m in modules if m not in found]
    if missing:
        chunks = token_chunks(tokenizer, corpus_texts(model, tokenizer, corpus, n_tokens, seed), seq_len, n_tokens)
        fresh, _ = accumulate(model, tokenizer, missing, chunks, batch_size=batch_size, desc=f"C over {corpus} text")
        for m in missing:
            found[m] = {"total": fresh[m].total, "n": fresh[m].n}
            if cache:
                save_atomic(found[m], paths[m])
    return [SecondMoment(found[m]["total"], found[m]["n"]) for m in modules]


def convergence(model, tokenizer, layer: int | None, *, corpus: str = "wiki", n_tokens: int = 100_000,
                checkpoints=(2_000, 5_000, 10_000, 25_000, 50_000), seq_len: int = 256, seed: int = 0) -> list[dict]:
    """How C settles as tokens are added: at each checkpoint, the relative Frobenius distance of
    C over that many tokens from C over all ``n_tokens``, and from C one checkpoint earlier."""
    module = mlp_out_module(model, layer)
    chunks = token_chunks(tokenizer, corpus_texts(model, tokenizer, corpus, n_tokens, seed), seq_len, n_tokens)
    final, snaps = accumulate(model, tokenizer, [module], chunks, checkpoints=checkpoints, desc=f"C over {corpus} text")
    ref = final[module].moment
    rows, previous = [], None
    for n, moments in snaps + [(final[module].n, final)]:
        C = moments[module].moment
        rows.append({"tokens": n, "to_final": float(torch.linalg.norm(C - ref) / torch.linalg.norm(ref)),
                     "to_previous": None if previous is None else float(torch.linalg.norm(C - previous) / torch.linalg.norm(C))})
        previous = C
    return rows


def format_convergence(rows: list[dict]) -> str:
    lines = ["tokens    |C_n - C_final| / |C_final|   |C_n - C_previous| / |C_n|"]
    for r in rows:
        prev = "" if r["to_previous"] is None else f"{r['to_previous']:.4f}"
        lines.append(f"{r['tokens']:>8}  {r['to_final']:>27.4f}   {prev:>27}")
    return "\n".join(lines)


def relative_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b||_F / ||b||_F."""
    return float(torch.linalg.norm(a.double() - b.double()) / torch.linalg.norm(b.double()))
