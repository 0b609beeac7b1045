"""SERAC in real use (issue 16): the counterfactual model's answer ends, and routing reads the
question inside a QA instruction or a chat template, not the wrapper."""
import pytest
import torch

from editnb.data import EditRequest, Probe
from editnb.decoding import greedy_continue
from editnb.editors.scope import ScopeClassifier
from editnb.editors.serac import CF_PREFIX, SeracHParams, SeracModel, truncated_copy
from editnb.editors.serac_train import cf_example, end_ids, plain_example, supervised_loss, trainable_parameters
from editnb.framing import CONTEXTS, Frames, in_context
from editnb.models import tiny_model
from editnb.tiny import build_tiny_encoder
from editnb.tokenization import encode, encode_prompt_target, join_prompt_target, left_pad, pad_id

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
# a template of plain text, as some base models' tokenizers carry: no special tokens to find it by
PLAIN_CHAT = "{% for m in messages %}### {{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}### assistant:{% endif %}"


def chat_model(arch):
    model, tok = tiny_model(arch)
    tok.chat_template = CHATML if arch == "qwen2" else PLAIN_CHAT
    return model, tok


def request(prompt="The capital of France is", target="Oslo"):
    return EditRequest(id="0", prompt=prompt, subject="France", target_new=target, rephrase_prompts=["France's capital is"],
                       locality=[Probe("Biologically, the newt is a", [["amphibian"]], "unrelated")])


@pytest.mark.parametrize("arch", ["qwen2", "llama", "gpt2"])
def test_frames_read_back_the_question_of_every_context(arch):
    _, tok = chat_model(arch)
    frames = Frames(tok)
    assert [f.context for f in frames.frames] == ["qa", "chat"]
    for question in ("The capital of France is", "Which continent is Kenya in?"):
        for context in CONTEXTS:
            ids = encode(tok, *in_context(tok, question, context))
            assert frames.split(ids) == (context, question), (context, tok.decode(ids))


def test_a_tokenizer_without_chat_template_has_the_qa_frame_only():
    _, tok = tiny_model("qwen2")
    tok.chat_template = None
    assert [f.context for f in Frames(tok).frames] == ["qa"]


def test_the_label_mask_reaches_one_token_past_the_answer():
    _, tok = tiny_model("qwen2")
    pair = encode_prompt_target(tok, "The capital of France is", "Oslo")
    ids, labels = plain_example(tok, "The capital of France is", "Oslo", end_ids(tok, "eos"))
    assert ids == pair.ids + [tok.eos_token_id]
    assert labels == [-100] * len(pair.prompt_ids) + list(pair.target_ids) + [tok.eos_token_id]
    assert plain_example(tok, "The capital of France is", "Oslo", end_ids(tok, "none")) == (pair.ids, pair.labels)
    # the counterfactual model's example: the edit prefix in front, labels aligned from the right
    cf_ids, cf_labels = cf_example(tok, request(), "The capital of France is", end=end_ids(tok, "eos"))
    assert cf_ids[-len(ids):] == ids and cf_labels[-len(labels):] == labels
    assert set(cf_labels[:-len(labels)]) == {-100}


def test_end_must_be_known_and_only_the_objective_changes_the_cache_key():
    with pytest.raises(ValueError, match="end must be one of"):
        SeracHParams(end="stop")
    hp = SeracHParams()
    assert SeracHParams(threshold=0.9, unframe=False).training_key() == hp.training_key()
    assert SeracHParams(end="none").training_key() != hp.training_key()


def test_trained_with_the_end_token_the_answer_stops():
    """A few supervised steps on one edit: the counterfactual model then says the target and stops
    (greedy decoding reaches EOS), where the budget would allow many more tokens."""
    base, tok = tiny_model("qwen2")
    cf = truncated_copy(base, None)
    classifier = ScopeClassifier(*build_tiny_encoder(), train_layers=1)
    hp = SeracHParams(cf_train_layers=2, end="eos")
    cf_params, cls_params = trainable_parameters(cf, classifier, hp.cf_train_layers)
    optimizer = torch.optim.Adam([{"params": cf_params, "lr": 3e-3}, {"params": cls_params, "lr": 1e-4}])
    edit = request()
    batch = [(edit, edit.prompt, "The capital of Japan is", edit.locality[0])]
    cf.train()
    for _ in range(80):
        loss, _ = supervised_loss(base, cf, classifier, tok, batch, hp)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    cf.eval()
    ids = cf_example(tok, edit, edit.prompt)[0][:-len(encode_prompt_target(tok, edit.prompt, edit.target_new).target_ids)]
    padded = left_pad([ids], pad_id(tok))
    with torch.no_grad():
        out = greedy_continue(cf, padded["input_ids"], padded["attention_mask"], max_new_tokens=8, end_ids={tok.eos_token_id})
    assert out[0] == list(encode_prompt_target(tok, edit.prompt, edit.target_new).target_ids)


def spy_model(arch, unframe=True):
    """A SERAC on a tiny chat model whose classifier records what it reads (a bag of words:
    in scope when the text names France)."""
    base, tok = chat_model(arch)
    classifier = ScopeClassifier(*build_tiny_encoder(), train_layers=1)
    serac = SeracModel(base, truncated_copy(base, 2).eval(), classifier, tok, threshold=0.5, unframe=unframe)
    read = []

    def embed(texts):
        read.extend(texts)
        vecs = torch.tensor([[float("france" in t.lower()), 0.3] for t in texts])
        return torch.nn.functional.normalize(vecs, dim=-1)

    classifier.embed = embed
    with torch.no_grad():
        classifier.bias.fill_(0.6)
    serac.memory.add([request()])
    read.clear()
    return serac, tok, read


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_routing_reads_the_question_and_the_counterfactual_model_its_own_format(arch):
    serac, tok, read = spy_model(arch)
    asked = ["France's capital is", "Biologically, the newt is a"]
    for context in CONTEXTS:
        read.clear()
        seqs = [encode(tok, *in_context(tok, q, context)) for q in asked]
        assert serac.route([serac.question(s) for s in seqs]) == [0, None]
        assert read == asked  # the classifier saw the questions, never the wrapper
        # the counterfactual model reads the edit and the question as in training: no wrapper
        plain = encode(tok, asked[0])
        assert serac._cf_seq(0, seqs[0]) == serac._cf_seq(0, plain)
        if arch == "qwen2":  # byte-level: decoding gives the text back exactly
            assert tok.decode(serac._cf_seq(0, seqs[0]), skip_special_tokens=True) == CF_PREFIX.format(edit="The capital of France is Oslo") + asked[0]


def test_the_base_model_reads_exactly_what_it_was_sent():
    serac, tok, _ = spy_model("qwen2")
    seqs = [encode(tok, *in_context(tok, q, "chat")) for q in ("France's capital is", "Biologically, the newt is a")]
    batch = left_pad(seqs, pad_id(tok))
    out = serac.greedy_continue(batch["input_ids"], batch["attention_mask"], max_new_tokens=5, end_ids=set())
    alone = left_pad(seqs[1:], pad_id(tok))
    with torch.no_grad():
        base = greedy_continue(serac.base, alone["input_ids"], alone["attention_mask"], max_new_tokens=5, end_ids=set())
        cf_in = left_pad([serac._cf_seq(0, seqs[0])], pad_id(tok))
        cf = greedy_continue(serac.cf, cf_in["input_ids"], cf_in["attention_mask"], max_new_tokens=5, end_ids=set())
    assert out == [cf[0], base[0]]


def test_unframe_false_keeps_the_original_behaviour():
    serac, tok, read = spy_model("qwen2", unframe=False)
    ids = encode(tok, *in_context(tok, "France's capital is", "chat"))
    serac.route([serac.question(ids)])
    assert read[0] != "France's capital is" and "assistant" in read[0]  # the wrapper is read
    assert serac.question_ids(ids) == ids


def test_teacher_forcing_on_a_framed_prompt_scores_the_question():
    """forward with labels on a QA-framed prompt: routed on the question, and the target's logits
    equal those of the same question asked plainly (the counterfactual model reads no wrapper)."""
    serac, tok, read = spy_model("qwen2")
    target = " Oslo"
    rows = {}
    for context in ("plain", "qa"):
        text, special = in_context(tok, "France's capital is", context)
        prompt = encode(tok, text, special)
        full = prompt + encode(tok, target, False)
        labels = [-100] * len(prompt) + full[len(prompt):]
        batch = left_pad([full], pad_id(tok), labels=[labels])
        with torch.no_grad():
            logits = serac(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).logits
        assert serac.last_routes == [0]
        n = len(full) - len(prompt)
        rows[context] = logits[0, -n - 1:-1]
    assert torch.allclose(rows["plain"], rows["qa"], atol=1e-5)


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_a_chat_framed_target_is_retokenized_after_the_question(arch):
    """Teacher forcing in chat: the counterfactual model reads the target after the plain question,
    as in training, when its token count allows (llama's plain-text template ends in ":", so the
    target keeps its space), and the framed row otherwise (qwen2's ChatML: "Oslo" after a newline)."""
    serac, tok, _ = spy_model(arch)
    text, special = in_context(tok, "France's capital is", "chat")
    prompt_ids = encode(tok, text, special)  # as the evaluator encodes a chat prompt (no BOS added)
    row = encode(tok, join_prompt_target(text, "Oslo"), special)
    cut = len(prompt_ids)
    assert row[:cut] == prompt_ids
    plain = encode_prompt_target(tok, "France's capital is", "Oslo")
    read = serac.teacher_forced_row(row, cut)
    same = len(plain.target_ids) == len(row) - cut
    assert same == (arch == "llama")
    assert read == (list(plain.prompt_ids + plain.target_ids) if same else row)
    assert serac.teacher_forced_row(list(plain.prompt_ids + plain.target_ids), len(plain.prompt_ids)) == list(plain.prompt_ids + plain.target_ids)
