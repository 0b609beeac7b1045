"""Where a fact's subject is, and what a layer reads and writes there (shared by ROME, MEMIT, AlphaEdit).

Subject positions come from the tokenizer's character offsets, never from tokenizing the
prefix and the subject separately (a BPE merge with the preceding space shifts those).  Keys
are averaged over short context prefixes that the model writes itself, seeded and cached on
disk per model: the same prefixes for every edit and every run, and no module-level state.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext

import torch

from ...data import EditRequest
from ...models import cache_dir, model_name
from ...results import write_json
from ...tokenization import left_pad, pad_id
from .covariance import fingerprint


def subject_parts(request: EditRequest) -> tuple[str, str]:
    """The request's prompt before and after its subject (the first occurrence; failing that,
    the first one ignoring case: "the Netherlands" opening a prompt as "The Netherlands")."""
    prompt, subject = request.prompt, request.subject
    at = prompt.find(subject) if subject else -1
    if at < 0 and subject and len(prompt.lower()) == len(prompt):
        at = prompt.lower().find(subject.lower())
    if at < 0:
        raise ValueError(f"request {request.id}: subject {request.subject!r} does not occur in prompt {request.prompt!r}")
    return prompt[:at], prompt[at + len(subject):]


def subject_as_written(request: EditRequest, before: str, after: str) -> str:
    """The subject as the prompt spells it (between :func:`subject_parts`' two pieces)."""
    return request.prompt[len(before):len(request.prompt) - len(after)]


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


def prefixes_for(model, tokenizer, hp) -> list[str]:
    """:func:`context_prefixes` with an editor's ``context_lengths``, ``contexts_per_length`` and ``context_seed``."""
    return context_prefixes(model, tokenizer, hp.context_lengths, hp.contexts_per_length, hp.context_seed)


class _Stop(Exception):
    pass


def _tensor(out):
    """A module's output tensor (decoder blocks of some versions return a tuple)."""
    return out[0] if isinstance(out, tuple) else out


@torch.no_grad()
def activations_at(model, tokenizer, module: str, seqs: list[tuple[list[int], int]], *, output: bool = False,
                   stop: bool = True) -> torch.Tensor:
    """The input (or, with ``output``, the output) of ``module`` at one position of each token
    sequence ``(ids, position)``: (n, d).  With ``stop`` the forward pass ends at ``module``."""
    batch = left_pad([ids for ids, _ in seqs], pad_id(tokenizer))
    width = batch["input_ids"].shape[1]
    rows = torch.arange(len(seqs))
    cols = torch.tensor([width - len(ids) + pos for ids, pos in seqs])
    got = {}

    def grab(x):
        got["a"] = x[rows.to(x.device), cols.to(x.device)].detach().clone()
        if stop:
            raise _Stop

    target = model.get_submodule(module)
    handle = (target.register_forward_hook(lambda m, a, out: grab(_tensor(out))) if output
              else target.register_forward_pre_hook(lambda m, a: grab(a[0])))
    try:
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"],
              use_cache=False)
    except _Stop:
        pass
    finally:
        handle.remove()
    return got["a"]


def at_subjects(model, tokenizer, module: str, requests, prefixes, *, output: bool = False, row_context=None,
                batch_rows: int = 64) -> torch.Tensor:
    """``module``'s input (or output) at each request's subject's last token, averaged over the
    context ``prefixes``: (n_requests, d).  ``row_context(edit_ids)``, when given, is entered
    around each batch with the request index of every row (an edit-parallel model's ``rows``)."""
    seqs, owners = [], []
    for i, request in enumerate(requests):
        before, after = subject_parts(request)
        subject = subject_as_written(request, before, after)
        for p in prefixes:
            seqs.append(located(tokenizer, p, before, subject, after)[1:])
            owners.append(i)
    parts = []
    for start in range(0, len(seqs), batch_rows):
        chunk = slice(start, start + batch_rows)
        with row_context(owners[chunk]) if row_context else nullcontext():
            parts.append(activations_at(model, tokenizer, module, seqs[chunk], output=output))
    return torch.cat(parts).reshape(len(requests), len(prefixes), -1).mean(1)


def subject_key(model, tokenizer, module: str, request: EditRequest, prefixes: list[str]) -> torch.Tensor:
    """k*: the input of ``module`` at the subject's last token, averaged over the context prefixes."""
    return at_subjects(model, tokenizer, module, [request], prefixes)[0]
