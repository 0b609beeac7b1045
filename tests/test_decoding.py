"""greedy_continue against Hugging Face's generate: the same tokens, rows leaving the batch when done."""
import pytest
import torch

from editnb.decoding import greedy_continue
from editnb.tokenization import encode, left_pad, pad_id

PROMPTS = ["The capital of France is", "Paris is the capital of", "Toko Yasuda plays the", "The mother tongue of"]


def batch_of(tok, prompts):
    return left_pad([encode(tok, p) for p in prompts], pad_id(tok))


def hf_greedy(model, tok, batch, max_new_tokens):
    with torch.no_grad():
        out = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], do_sample=False,
                             max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens, pad_token_id=pad_id(tok),
                             temperature=None, top_p=None, top_k=None)
    return out[:, batch["input_ids"].shape[1]:].tolist()


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
def test_same_tokens_as_generate(tiny_models, arch):
    model, tok = tiny_models[arch]
    batch = batch_of(tok, PROMPTS)  # prompts of different lengths: left padding is exercised
    assert len(set(batch["attention_mask"].sum(1).tolist())) > 1
    expected = hf_greedy(model, tok, batch, 7)
    got = greedy_continue(model, batch["input_ids"], batch["attention_mask"], max_new_tokens=7)
    assert got == expected


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_rows_leave_the_batch_without_changing_the_others(tiny_models, arch):
    """Row r stops after r + 1 tokens (an end token for row 0): each row keeps generate()'s tokens up to
    its stop, and the rows still running are reported after each departure."""
    model, tok = tiny_models[arch]
    batch = batch_of(tok, PROMPTS)
    expected = hf_greedy(model, tok, batch, 6)
    end = {expected[0][0]}
    seen = []
    got = greedy_continue(model, batch["input_ids"], batch["attention_mask"], max_new_tokens=6,
                          end_ids=end, stop=lambda row, ids: len(ids) >= row + 1, on_rows=seen.append)
    assert got[0] == []  # its first token is an end token, left out
    for row in range(1, len(PROMPTS)):
        tokens = [t for t in expected[row][:row + 1]]
        assert got[row] == tokens[:next((i for i, t in enumerate(tokens) if t in end), len(tokens))]
    assert seen == [[1, 2, 3], [2, 3], [3]]


def test_empty_batch(tiny_models):
    model, tok = tiny_models["llama"]
    assert greedy_continue(model, torch.zeros((0, 3), dtype=torch.long), torch.zeros((0, 3), dtype=torch.long), max_new_tokens=4) == []


def test_rows_of_separate_edits_keep_their_edit_as_others_leave(tiny_models):
    """apply_each's rows: as rows leave at different steps, each remaining row still sees its own
    edit (its tokens equal those of the row decoded alone)."""
    from editnb.data.embedded import load_embedded
    from editnb.editors import get_editor

    model, tok = tiny_models["llama"]
    requests = load_embedded("test", n=4)
    batch = batch_of(tok, [r.prompt for r in requests])
    with get_editor("FT-M", steps=3, lr=5e-2).apply_each(model, tok, requests) as edited:
        alone = []
        for k in range(len(requests)):
            one = batch_of(tok, [requests[k].prompt])
            with edited.rows([k]):
                alone += greedy_continue(edited, one["input_ids"], one["attention_mask"], max_new_tokens=6)
        order = [2, 0, 3, 1]  # rows leave after 1, 2, 3 and 6 tokens; row r holds edit order[r]
        with edited.rows(order) as rows:
            got = greedy_continue(edited, batch["input_ids"][order], batch["attention_mask"][order], max_new_tokens=6,
                                  stop=lambda row, ids: len(ids) >= (1, 2, 3, 6)[row], on_rows=rows.keep)
    assert len({tuple(a) for a in alone}) > 1  # the edits differ in what they generate
    assert got == [alone[k][:n] for k, n in zip(order, (1, 2, 3, 6))]
