"""SERAC: an edit memory, a scope classifier and a counterfactual model around an untouched base model."""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
from transformers import StoppingCriteriaList
from transformers.modeling_outputs import CausalLMOutputWithPast

from ..decoding import greedy_continue
from ..framing import Frames
from ..tokenization import encode, encode_prompt_target, left_pad, pad_id
from . import register
from .base import EditedModel, Editor, RowEdits, unwrap, unwrap_adding
from .hparams import HyperParams
from .memory.prefix import after_context, logits_after, unpadded
from .scope import EditMemory, ScopeClassifier, edit_text

CF_PREFIX = "New fact: {edit}.\n"
ENDS = ("eos", "none")


@dataclass(frozen=True)
class SeracHParams(HyperParams):
    """SERAC's hyperparameters (defaults for SmolLM2-135M on a CPU).

    threshold: route to the counterfactual model when the scope score exceeds it;
    classifier: path of the sentence encoder (None: all-MiniLM-L6-v2 from its wheel);
    classifier_layers: top encoder layers trained (the rest stays frozen);
    cf_layers: blocks of the base model kept in the counterfactual model (None: all of them);
    cf_train_layers: how many of its top blocks are trained (the rest, embeddings and head stay frozen);
    steps, batch_size, lr, cls_lr: joint training with one Adam optimizer (two learning rates);
    c_edit, c_cls: weights of the edit NLL and the classifier loss;
    soft_mixture: train the classifier only through p = (1 - s) p_base + s p_cf (EasyEdit's variant);
    eval_every, patience: early stopping on the dev split; n_train: train requests used (None: all);
    end: what the counterfactual model learns to say after the answer: "eos" (the tokenizer's
    end-of-sequence token, so that its answer ends) or "none" (the target tokens only, the
    original objective: the answer never ends and often repeats itself);
    unframe: route on the question read out of a QA or chat frame (:mod:`editnb.framing`), and
    give the counterfactual model the edit and that question in its own format; False routes
    on the whole input, wrapper included (the original behaviour).
    """

    threshold: float = 0.5
    classifier: str | None = None
    classifier_layers: int = 2
    cf_layers: int | None = None
    cf_train_layers: int = 4
    steps: int = 300
    batch_size: int = 16
    lr: float = 3e-4
    cls_lr: float = 1e-4
    c_edit: float = 1.0
    c_cls: float = 1.0
    soft_mixture: bool = False
    eval_every: int = 50
    patience: int = 3
    n_train: int | None = None
    seed: int = 0
    end: str = "eos"
    unframe: bool = True

    # read at inference only: changing them needs no retraining
    INFERENCE = ("threshold", "unframe")

    def __post_init__(self):
        if self.end not in ENDS:
            raise ValueError(f"SeracHParams.end must be one of {ENDS}, got {self.end!r}")

    def training_key(self) -> str:
        """A short hash of the hyperparameters that decide the trained weights."""
        return HyperParams.key(dataclasses.replace(self, **{k: getattr(SeracHParams, k) for k in self.INFERENCE}))


def truncated_copy(model, n_layers: int | None):
    """A copy of a causal LM keeping its first ``n_layers`` blocks (same tokenizer, embeddings, head)."""
    cf = copy.deepcopy(model)
    total = cf.config.num_hidden_layers
    n_layers = total if n_layers is None else min(n_layers, total)
    container = cf.get_decoder()
    name = "layers" if hasattr(container, "layers") else "h"
    setattr(container, name, torch.nn.ModuleList(list(getattr(container, name))[:n_layers]))
    cf.config.num_hidden_layers = n_layers
    if getattr(cf.config, "layer_types", None):
        cf.config.layer_types = cf.config.layer_types[:n_layers]
    return cf


def decoder_blocks(model):
    container = model.get_decoder()
    return getattr(container, "layers", None) or getattr(container, "h")


def cf_prefix_ids(tokenizer, request) -> list[int]:
    return encode(tokenizer, CF_PREFIX.format(edit=edit_text(request)))


def cf_inputs(tokenizer, request, row_ids: list[int]) -> list[int]:
    """What the counterfactual model reads: the edit, then the input (never the input's gold target)."""
    return after_context(tokenizer, cf_prefix_ids(tokenizer, request), row_ids)


class Continuations(dict):
    """Greedy continuations already decoded by SERAC's two models, keyed by everything that decides
    them: the model (and its parameters' in-place versions), the input ids, the token budget, the
    end tokens and the stop test.  Neither model is ever trained after SERAC's training, so an
    input decoded once need not be decoded again by a later evaluation (another memory, another
    notebook cell).  A model carrying forward hooks (another editor's per-row deltas) is not cached."""

    def __init__(self):
        super().__init__()
        self.models = {}  # keeps every keyed model alive, so that its id is never reused by another

    def key(self, model, ids, stop, kwargs) -> tuple | None:
        stop_key = getattr(stop, "key", None) if stop is not None else ()
        if stop_key is None or any(m._forward_hooks or m._forward_pre_hooks for m in model.modules()):
            return None
        self.models.setdefault(id(model), model)
        versions = tuple(p._version for p in model.parameters())
        return (id(model), versions, tuple(ids), kwargs.get("max_new_tokens"), tuple(sorted(kwargs.get("end_ids", ()))), stop_key)


class SeracModel(torch.nn.Module):
    """Routes each row to the base model or, when in scope of a stored edit, to the counterfactual model.

    Behaves as a causal LM for ``editnb.evaluate``: ``forward`` (teacher forcing) and
    ``generate`` are batched, with routing decided per row from the row's *prompt*: under
    teacher forcing the tokens labelled as target are left out of the classifier's input.
    A prompt asked inside the evaluator's QA instruction or the tokenizer's chat template is
    routed on the question alone, and the counterfactual model reads the edit and that question
    as in training (:meth:`question_ids`, :meth:`teacher_forced_row`); any other wrapper is read
    as a plain prompt (:mod:`editnb.framing`).  The base model always reads what it was given.
    """

    routes_on_labels = True  # forward_logits passes the labels: routing reads the prompt only

    def __init__(self, base, cf, classifier: ScopeClassifier, tokenizer, threshold: float = 0.5, row_edits: RowEdits | None = None,
                 outputs: "Continuations | None" = None, oracle: bool = False, unframe: bool = True):
        super().__init__()
        self.base, self.cf, self.classifier = base, cf, classifier
        self.tokenizer, self.threshold, self.oracle = tokenizer, threshold, oracle
        self.frames = Frames(tokenizer) if unframe else None  # None: route on the whole input
        self.row_edits = row_edits  # apply_each: each row is routed against its own edit only
        self.outputs = outputs  # continuations already decoded, shared by the editor's models
        self.memory = EditMemory(classifier)
        self.config, self.generation_config = base.config, base.generation_config
        self.last_routes: list[int | None] = []

    @property
    def device(self):
        return self.base.device

    def question(self, ids: list[int]) -> str:
        """The text routing reads: the question inside a QA or chat frame, else the whole input."""
        if self.frames is None:
            return self.tokenizer.decode(ids, skip_special_tokens=True)
        return self.frames.question(ids)

    def question_ids(self, ids: list[int]) -> list[int]:
        """The input as the counterfactual model reads it after the edit: a framed question as a
        plain prompt (its own training format), a plain input unchanged."""
        if self.frames is None:
            return ids
        context, question = self.frames.split(ids)
        return ids if context == "plain" else encode(self.tokenizer, question)

    def _cf_seq(self, route: int, ids: list[int]) -> list[int]:
        return cf_inputs(self.tokenizer, self.memory.requests[route], self.question_ids(ids))

    def teacher_forced_row(self, row: list[int], cut: int) -> list[int]:
        """A teacher-forced row (prompt ``row[:cut]``, target ``row[cut:]``) as the counterfactual
        model reads it: a framed prompt as its question with the target tokenized after that
        question, as in training (after "assistant\n" a target has no leading space, after a plain
        prompt it has one).  When the target then has another number of tokens, its positions
        could not line up with the row's labels, and the framed row is read unchanged."""
        prompt, target = row[:cut], row[cut:]
        if self.frames is None or not target:
            return self.question_ids(prompt) + target
        context, question = self.frames.split(prompt)
        if context == "plain":
            return row
        pair = encode_prompt_target(self.tokenizer, question, self.tokenizer.decode(target, skip_special_tokens=True).strip())
        return list(pair.prompt_ids + pair.target_ids) if len(pair.target_ids) == len(target) else row

    def route(self, texts: list[str]) -> list[int | None]:
        """Index of the edit each text falls in scope of, or None for the base model (with
        ``row_edits``, row i is compared with its own edit alone, as a one-edit memory would)."""
        edits = self.row_edits.current(len(texts)).tolist() if self.row_edits is not None else None
        self.last_routes = self._routes(texts, edits)
        return self.last_routes

    def _routes(self, texts: list[str], edits: list[int] | None) -> list[int | None]:
        if self.oracle:  # the true scope: the text asks one of the edit's own prompts or rephrases
            return [self.memory.in_scope(t, e) for t, e in zip(texts, edits or [None] * len(texts))]
        scores, index = self.memory.lookup(texts) if edits is None else self.memory.lookup_each(texts, edits)
        return [i if s > self.threshold else None for s, i in zip(scores.tolist(), index)]

    def forward(self, input_ids, attention_mask=None, position_ids=None, labels=None, logits_to_keep: int = 0, **kwargs):
        rows = unpadded(input_ids, attention_mask)
        cuts = []
        for r, row in enumerate(rows):
            cut = len(row)
            if labels is not None:
                counted = (labels[r, -len(row):] != -100).nonzero()
                cut = int(counted[0]) if len(counted) else len(row)
            cuts.append(cut)
        routes = self.route([self.question(row[:cut]) for row, cut in zip(rows, cuts)])
        base_rows = [r for r, e in enumerate(routes) if e is None]
        cf_rows = [r for r, e in enumerate(routes) if e is not None]
        # logits of the last `width` positions (all of them without logits_to_keep); rows end together
        width = min(logits_to_keep, input_ids.shape[1]) if logits_to_keep else input_ids.shape[1]
        logits = None
        if base_rows:
            sub = {"input_ids": input_ids[base_rows], "logits_to_keep": width}
            if attention_mask is not None:
                sub["attention_mask"] = attention_mask[base_rows]
            if position_ids is not None:
                sub["position_ids"] = position_ids[base_rows]
            out = self.base(**sub).logits
            logits = out.new_zeros((len(rows), width, out.shape[-1]))
            logits[base_rows] = out
        if cf_rows:
            read = {r: self.teacher_forced_row(rows[r], cuts[r]) for r in cf_rows}
            seqs = [cf_inputs(self.tokenizer, self.memory.requests[routes[r]], read[r]) for r in cf_rows]
            # a framed prompt is read as its question: the row's own positions past it line up from the right
            lengths = [min(len(rows[r]), len(read[r])) for r in cf_rows]
            out = logits_after(self.cf, self.tokenizer, seqs, lengths, width)
            if logits is None:
                logits = out.new_zeros((len(rows), width, out.shape[-1]))
            logits[cf_rows] = out
        return CausalLMOutputWithPast(logits=logits)

    @torch.no_grad()
    def generate(self, input_ids, attention_mask=None, stopping_criteria=None, **kwargs):
        rows = unpadded(input_ids, attention_mask)
        routes = self.route([self.question(r) for r in rows])
        width, pad = input_ids.shape[1], pad_id(self.tokenizer)
        pieces = {}
        for model, members, seqs in self._groups(rows, routes):
            batch = left_pad(seqs, pad)
            criteria = StoppingCriteriaList([copy.copy(c) for c in stopping_criteria]) if stopping_criteria else None
            out = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                 stopping_criteria=criteria, **kwargs)
            for k, r in enumerate(members):
                pieces[r] = out[k, batch["input_ids"].shape[1]:]
        longest = max(len(p) for p in pieces.values())
        result = torch.full((len(rows), width + longest), pad, dtype=input_ids.dtype)
        result[:, :width] = input_ids
        for r, piece in pieces.items():
            result[r, width:width + len(piece)] = piece
        return result

    def answers_unedited(self, inputs: list[list[int]], edit_ids: list[int | None]) -> list[bool]:
        """For each input (token ids of a prompt, as routed) and the edit its row sees (None: the
        whole memory), whether this model answers it with the base model alone."""
        texts = [self.question(ids) for ids in inputs]
        return [route is None for route in self._routes(texts, edit_ids if any(e is not None for e in edit_ids) else None)]

    def greedy_continue(self, input_ids, attention_mask, *, stop=None, on_rows=None, **kwargs) -> list[list[int]]:
        """:func:`editnb.decoding.greedy_continue` with each row routed once, from its prompt, to the
        base or the counterfactual model (the evaluator's decoding path; ``generate`` is the
        Hugging Face one).  Rows carry no state past routing, so ``on_rows`` is not needed.
        A continuation already made for the same input and settings is taken from ``outputs``."""
        rows = unpadded(input_ids, attention_mask)
        routes = self.route([self.question(r) for r in rows])
        out: list[list[int] | None] = [None] * len(rows)
        for model, members, seqs in self._groups(rows, routes):
            keys = [self.outputs.key(model, seq, stop, kwargs) if self.outputs is not None else None for seq in seqs]
            todo = [k for k, key in enumerate(keys) if key is None or key not in self.outputs]
            if todo:
                batch = left_pad([seqs[k] for k in todo], pad_id(self.tokenizer))
                own_stop = (lambda j, ids, rows=[members[k] for k in todo]: stop(rows[j], ids)) if stop is not None else None
                new = greedy_continue(model, batch["input_ids"], batch["attention_mask"], stop=own_stop, **kwargs)
                for k, tokens in zip(todo, new):
                    out[members[k]] = tokens
                    if keys[k] is not None:
                        self.outputs[keys[k]] = tokens
            for k, r in enumerate(members):
                if out[r] is None:
                    out[r] = self.outputs[keys[k]]
        return out

    def _groups(self, rows, routes):
        base_rows = [r for r, e in enumerate(routes) if e is None]
        cf_rows = [r for r, e in enumerate(routes) if e is not None]
        if base_rows:
            yield self.base, base_rows, [rows[r] for r in base_rows]
        if cf_rows:
            yield self.cf, cf_rows, [self._cf_seq(routes[r], rows[r]) for r in cf_rows]


@register
class SERAC(Editor):
    """SERAC (Mitchell et al., 2022): memory-based editing; the base model's weights are never changed."""

    name = "SERAC"
    HParams = SeracHParams
    oracle = False  # the classifier routes (SERAC-oracle: the true scope)

    def __init__(self, hparams=None, *, components=None, **overrides):
        super().__init__(hparams, **overrides)
        self.components = components  # (cf, classifier) already trained, e.g. in a test
        self.continuations = Continuations()  # what its models have decoded, reused across edits and memories

    def apply(self, model, tokenizer, requests, *, sequential: bool = False) -> EditedModel:
        """Store ``requests`` in memory (batch or sequential alike: the memory only grows)."""
        base, prior = unwrap_adding(model, SERAC)
        if prior is not None:
            edited = prior
        else:
            cf, classifier = self.trained(base, tokenizer)
            serac = SeracModel(base, cf, classifier, tokenizer, self.hparams.threshold, outputs=self.continuations,
                               oracle=self.oracle, unframe=self.hparams.unframe)
            edited = EditedModel(serac, base, self, serac.memory.clear, [])
        edited.module.memory.add(requests)
        edited.requests += list(requests)
        return edited

    def apply_each(self, model, tokenizer, requests) -> EditedModel:
        """Every request as its own single edit (see ``Editor.apply_each``): all are stored in one
        memory, and each row's scope is scored against its own edit only."""
        base, prior = unwrap(model)
        if prior is not None:
            raise ValueError("apply_each edits the unedited model; restore the EditedModel first")
        cf, classifier = self.trained(base, tokenizer)
        row_edits = RowEdits()
        serac = SeracModel(base, cf, classifier, tokenizer, self.hparams.threshold, row_edits=row_edits,
                           outputs=self.continuations, oracle=self.oracle, unframe=self.hparams.unframe)
        serac.memory.add(requests)
        return EditedModel(serac, base, self, serac.memory.clear, requests, row_edits=row_edits)

    def trained(self, base, tokenizer):
        """The trained (counterfactual model, classifier): given, cached, or trained now."""
        if self.components is None:
            from .serac_train import load_or_train

            self.components = load_or_train(base, tokenizer, self.hparams)
        return self.components


@register
class SERACOracle(SERAC):
    """SERAC whose router knows the true scope (an input is in scope exactly when it asks one of
    the edit's own prompts or rephrases): the same trained models and settings, no routing
    errors, so the difference from SERAC is what routing costs."""

    name = "SERAC-oracle"
    oracle = True
