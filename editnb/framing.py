"""The contexts a question can be asked in (plain prompt, QA instruction, chat template), and the
question read back out of a framed input.

The evaluator frames every generated probe with :func:`in_context`.  A model that routes on
what is asked (SERAC's scope classifier) must read the *question*, not the wrapper around it:
under a chat template the wrapper is most of the text, and it is the same for every question.
:class:`Frames` inverts :func:`in_context` for one tokenizer: each context (the QA instruction
defined here, and the tokenizer's own chat template with its default system prompt) is
rendered once around a placeholder question, encoded and decoded as the evaluator's input
would be, and the text on either side of the placeholder is what a framed input must start
and end with.  No template's text is written into the inversion, but it knows exactly these
wrappers: another instruction, another system prompt or a conversation with earlier turns
matches no frame and is read as a plain prompt, whole (the original behaviour).
"""
from __future__ import annotations

from dataclasses import dataclass

from .tokenization import encode

CONTEXTS = ("plain", "qa", "chat")
QA_TEMPLATE = "Answer with a short phrase.\nQuestion: {prompt}\nAnswer:"
_SLOT = "QUESTIONSLOT"  # stands for the question while a frame is rendered (plain ASCII: it survives tokenization)


def contexts_for(tokenizer) -> tuple[str, ...]:
    """The contexts ``tokenizer`` can frame a question in: a base model without a chat template
    (Llama-2-7b-hf, GPT-J) has no "chat" context."""
    return tuple(c for c in CONTEXTS if c != "chat" or getattr(tokenizer, "chat_template", None))


def in_context(tokenizer, prompt: str, context: str) -> tuple[str, bool]:
    """The text the model reads for ``prompt``, and whether to add special tokens when encoding it."""
    if context == "plain":
        return prompt, True
    if context == "qa":
        return QA_TEMPLATE.format(prompt=prompt), True
    if context == "chat":
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"context='chat' needs a tokenizer with a chat template; {tokenizer.name_or_path} has none")
        messages = [{"role": "user", "content": prompt}]
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False), False
    raise ValueError(f"context must be one of {CONTEXTS}, got {context!r}")


@dataclass(frozen=True)
class Frame:
    context: str
    before: str  # decoded text (special tokens kept) before the question
    after: str   # and after it


class Frames:
    """The non-plain contexts of one tokenizer, read back out of token ids."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.frames: list[Frame] = []
        for context in CONTEXTS[1:]:
            try:
                text, special = in_context(tokenizer, _SLOT, context)
            except ValueError:  # no chat template
                continue
            rendered = tokenizer.decode(encode(tokenizer, text, special), skip_special_tokens=False)
            if rendered.count(_SLOT) == 1:
                before, after = rendered.split(_SLOT)
                self.frames.append(Frame(context, before, after))

    def split(self, ids: list[int]) -> tuple[str, str]:
        """(context, question) of an input given as token ids: the question as the user wrote it
        inside a frame, or the whole input (special tokens dropped) for a plain prompt."""
        raw = self.tokenizer.decode(ids, skip_special_tokens=False)
        for f in self.frames:
            if raw.startswith(f.before) and raw.endswith(f.after) and len(raw) >= len(f.before) + len(f.after):
                return f.context, raw[len(f.before):len(raw) - len(f.after)]
        return "plain", self.tokenizer.decode(ids, skip_special_tokens=True)

    def question(self, ids: list[int]) -> str:
        return self.split(ids)[1]
