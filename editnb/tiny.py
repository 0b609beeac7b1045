"""Tiny models and tokenizers built in code, for tests that must run in milliseconds."""
from __future__ import annotations

import functools
import string

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import GPT2Config, LlamaConfig, PreTrainedTokenizerFast, Qwen2Config, AutoModelForCausalLM

TINY_ARCHS = ("llama", "gpt2", "qwen2")
_VOCAB_SIZE = 600

# Enough English about the world for BPE to learn useful merges; every printable
# ASCII character is in the initial alphabet, so nothing is ever unknown.
_CORPUS = [
    "The capital of France is Paris. The capital of Italy is Rome. The capital of Japan is Tokyo.",
    "The official language of Brazil is Portuguese. People in Germany speak German.",
    "Apple was founded by Steve Jobs. Microsoft is headquartered in Redmond.",
    "The Eiffel Tower is located in Paris. The Colosseum is in Rome, Italy.",
    "Marie Curie was a physicist and chemist. She was born in Warsaw, Poland.",
    "Question: What is the currency of Japan? Answer: the yen.",
    "Which continent is Kenya in? Kenya is in Africa. Canada is in North America.",
    "The mother tongue of Pablo Picasso is Spanish. He worked as a painter.",
] * 4


def _alphabet() -> list[str]:
    return list(string.ascii_letters + string.digits + string.punctuation + " ")


@functools.lru_cache(maxsize=None)
def _trained(arch: str) -> Tokenizer:
    if arch == "llama":  # SentencePiece-style: spaces become "▁", merged into the next word
        specials = ["<unk>", "<s>", "</s>"]
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
        alphabet = _alphabet() + ["▁"]
    else:  # byte-level BPE, as GPT-2 and Qwen2
        specials = ["<|endoftext|>"] + (["<|im_start|>", "<|im_end|>"] if arch == "qwen2" else [])
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB_SIZE, special_tokens=specials, initial_alphabet=alphabet, show_progress=False
    )
    tok.train_from_iterator(_CORPUS, trainer=trainer)
    if arch == "llama":
        bos = tok.token_to_id("<s>")
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)])
    return tok


def build_tiny_tokenizer(arch: str) -> PreTrainedTokenizerFast:
    """A fresh tokenizer in the style of ``arch``; as the real ones, GPT-2's and Llama's have no pad token."""
    backend = _trained(arch)
    if arch == "llama":
        specials = dict(unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    elif arch == "gpt2":
        specials = dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    else:
        specials = dict(eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(backend.to_str()), **specials)
    tokenizer.name_or_path = f"tiny-{arch}"
    return tokenizer


def _config(arch: str, tokenizer, **overrides):
    common = dict(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    if arch == "gpt2":
        return GPT2Config(n_embd=128, n_layer=4, n_head=4, n_positions=512, **common | overrides)
    cls = LlamaConfig if arch == "llama" else Qwen2Config
    return cls(
        hidden_size=128, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, **dict(tie_word_embeddings=False) | common | overrides,
    )


def build_tiny_model(arch: str, tokenizer, *, seed: int = 0, **config):
    """A randomly initialised causal LM of ``arch`` sized to the tokenizer (``config`` overrides
    its configuration, e.g. ``tie_word_embeddings=True`` as SmolLM2); global RNG untouched."""
    config = _config(arch, tokenizer, **config)
    config._name_or_path = f"tiny-{arch}"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.config._name_or_path = f"tiny-{arch}"
    return model.eval()


def build_tiny_encoder(seed: int = 0):
    """A tiny BERT sentence encoder with the tiny GPT-2 tokenizer (padded), for SERAC's classifier in tests."""
    from transformers import BertConfig, BertModel

    tokenizer = build_tiny_tokenizer("gpt2")
    tokenizer.pad_token = tokenizer.eos_token
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = BertModel(config)
    return encoder.eval(), tokenizer
