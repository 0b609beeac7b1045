"""Run a causal LM from one block on, with the blocks below computed once.

An editor that trains a weight in block L (FT's MLP weight) sees the same activations below L
at every optimisation step: the blocks below do not change.  :class:`Suffix` computes each
example's input to block L once (:meth:`Suffix.states`) and then runs only blocks L.. and the
LM head, the head on the last ``keep`` positions only (:meth:`Suffix.logits`).  On SmolLM2
with FT at the middle block this halves the forward pass of a training step and removes most
of the LM head, whose 49k-word vocabulary costs a fifth of a full forward pass.

Rows are left-padded as in :func:`editnb.tokenization.left_pad`; explicit position ids and the
attention mask make a padded row equal to the unpadded one (as in the full forward pass).

Where an optimisation changes only positions from some column on (ROME's v* at the subject's
last token), the positions before it give the same keys and values in every block at every
step: :meth:`Suffix.past` computes them once, and :meth:`Suffix.logits` with ``past`` runs only
the later tokens against them (transformers' ``DynamicCache`` with per-layer storage).
"""
from __future__ import annotations

import inspect
from contextlib import contextmanager

import torch

# Where each architecture keeps its blocks, and a learned position embedding that the model
# adds to ``inputs_embeds`` (muted when the cached states, which already hold it, go in).
BLOCKS = {
    "llama": ("model.layers", None),
    "qwen2": ("model.layers", None),
    "mistral": ("model.layers", None),
    "gpt2": ("transformer.h", "transformer.wpe"),
}


class _Stop(Exception):
    pass


def supported(model) -> bool:
    return model.config.model_type in BLOCKS


class Suffix:
    """Blocks ``layer``.. of ``model`` (and its final norm and LM head) on cached block inputs."""

    def __init__(self, model, layer: int):
        kind = model.config.model_type
        if kind not in BLOCKS:
            raise ValueError(f"Suffix does not know where the blocks of a '{kind}' model are; known: {sorted(BLOCKS)}")
        path, positions = BLOCKS[kind]
        self.model, self.layer = model, layer
        self.parent_name, _, self.attr = path.rpartition(".")
        self.parent = model.get_submodule(self.parent_name)
        self.blocks = getattr(self.parent, self.attr)
        self.positions = model.get_submodule(positions) if positions else None

    @torch.no_grad()
    def states(self, batch: dict) -> list[torch.Tensor]:
        """Each row's input to block ``layer``, without its padding: shape (row length, hidden)."""
        captured = {}

        def grab(module, args, kwargs):
            captured["h"] = args[0] if args else kwargs["hidden_states"]
            raise _Stop

        handle = self.blocks[self.layer].register_forward_pre_hook(grab, with_kwargs=True)
        try:
            self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       position_ids=batch["position_ids"], use_cache=False)
        except _Stop:
            pass
        finally:
            handle.remove()
        mask = batch["attention_mask"].bool()
        return [captured["h"][i][mask[i].to(captured["h"].device)].detach() for i in range(mask.shape[0])]

    @property
    def caches_prefix(self) -> bool:
        """Whether :meth:`past` works here (transformers with per-layer caches and a ``cache`` argument)."""
        try:
            from transformers import DynamicCache
            return hasattr(DynamicCache(), "layers") and "cache" in inspect.signature(self.model.base_model.forward).parameters
        except ImportError:
            return False

    @torch.no_grad()
    def past(self, states: list[torch.Tensor], batch: dict) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Keys and values of blocks ``layer``.. for the left-padded rows whose block inputs are
        ``states`` (one (keys, values) pair per block, batch first)."""
        from transformers import DynamicCache
        cache = DynamicCache(config=self.model.config)
        self._run(states, batch, cache=cache)
        return [(layer.keys, layer.values) for layer in cache.layers[self.layer:]]

    def logits(self, states: list[torch.Tensor], batch: dict, keep: int, past=None) -> torch.Tensor:
        """Logits at the last ``keep`` positions of the left-padded batch whose rows' block
        inputs are ``states`` (``batch`` gives the attention mask and position ids).  With
        ``past = (pairs, mask)``, the rows continue the rows whose keys and values
        :meth:`past` gave as ``pairs``, under that earlier batch's attention ``mask``."""
        cache = None
        if past is not None:
            from transformers import DynamicCache
            pairs, mask = past
            # blocks below ``layer`` never run: their entries only give the cache its length
            cache = DynamicCache(ddp_cache_data=[pairs[0]] * self.layer + list(pairs))
            batch = dict(batch, attention_mask=torch.cat([mask, batch["attention_mask"]], 1))
        hidden = self._run(states, batch, cache=cache)
        # a contiguous tail: the head is then one matmul (a strided slice makes torch broadcast
        # the 49k-word head weight into a batched matmul, several times slower)
        return self.model.get_output_embeddings()(hidden[:, -keep:].contiguous())

    def _run(self, states, batch, cache=None) -> torch.Tensor:
        """Blocks ``layer``.. and the final norm on ``states`` placed as in ``batch`` (left-padded)."""
        width = batch["position_ids"].shape[1]
        first = states[0]
        hidden = first.new_zeros((len(states), width, first.shape[-1]))
        for i, s in enumerate(states):
            hidden[i, width - s.shape[0]:] = s
        extra = {"cache": cache, "use_cache": True} if cache is not None else {"use_cache": False}
        with self._from_layer():
            out = self.model.base_model(inputs_embeds=hidden, attention_mask=batch["attention_mask"],
                                        position_ids=batch["position_ids"], **extra)
        return out.last_hidden_state

    @contextmanager
    def _from_layer(self):
        """The model with blocks below ``layer`` taken out and position embeddings muted."""
        setattr(self.parent, self.attr, self.blocks[self.layer:])
        handle = self.positions.register_forward_hook(lambda m, a, out: torch.zeros_like(out)) if self.positions else None
        try:
            yield
        finally:
            setattr(self.parent, self.attr, self.blocks)
            if handle is not None:
                handle.remove()
