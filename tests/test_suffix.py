"""Suffix: blocks from one layer up on cached block inputs give the whole model's logits."""
import pytest
import torch

from editnb.editors.suffix import Suffix
from editnb.models import tiny_model
from editnb.tokenization import left_pad


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
def test_suffix_logits_equal_the_whole_forward_pass(arch):
    model, tok = tiny_model(arch)
    rows = [tok("the cat sat on the mat")["input_ids"], tok("a dog")["input_ids"], tok("xyz abc the")["input_ids"]]
    batch = left_pad(rows, tok.pad_token_id or 0)
    with torch.no_grad():
        full = model(**batch).logits
    n_layers = model.config.num_hidden_layers
    for layer in (0, n_layers // 2, n_layers - 1):
        suffix = Suffix(model, layer)
        states = suffix.states(batch)
        assert [s.shape[0] for s in states] == [len(r) for r in rows]
        for keep in (1, 3):
            with torch.no_grad():
                tail = suffix.logits(states, batch, keep)
            mask = batch["attention_mask"][:, -keep:].bool()
            assert torch.allclose(tail[mask], full[:, -keep:][mask], atol=1e-5), (arch, layer, keep)
    # the blocks are put back: the model is whole again
    assert len(suffix.blocks) == n_layers and model.get_submodule(suffix.parent_name + "." + suffix.attr) is suffix.blocks
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, full)


def test_suffix_states_do_not_depend_on_the_other_rows():
    model, tok = tiny_model("llama")
    alone = Suffix(model, 1).states(left_pad([tok("a dog")["input_ids"]], 0))[0]
    padded = Suffix(model, 1).states(left_pad([tok("the cat sat on the mat")["input_ids"], tok("a dog")["input_ids"]], 0))[1]
    assert torch.allclose(alone, padded, atol=1e-5)


def test_suffix_refuses_an_unknown_architecture():
    model, _ = tiny_model("llama")
    model.config.model_type = "mystery"
    with pytest.raises(ValueError, match="mystery"):
        Suffix(model, 0)
