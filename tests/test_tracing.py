import numpy as np
import pytest
import torch

from editnb import tracing
from editnb.data import EditRequest

REQUEST = EditRequest(id="t", prompt="The capital of the country France is", subject="France", target_new="Oslo",
                      ground_truth="Paris")


def full_forward_effect(model, tok, trace, layer, token, noise, seed=0, samples=2, kind="hidden"):
    """The same restoration by a plain forward pass of the whole model (the reference)."""
    ids, (s0, s1) = tracing.subject_tokens(tok, REQUEST.prompt, REQUEST.prompt.index("France"),
                                           REQUEST.prompt.index("France") + len("France"))
    target = tok(REQUEST.prompt + " Paris")["input_ids"][len(ids)]
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        emb = model.get_input_embeddings()(torch.tensor([ids]))
        eps = torch.randn((samples, s1 - s0, emb.shape[-1]), generator=gen)
        corrupt = emb.repeat(samples, 1, 1)
        corrupt[:, s0:s1] += noise * eps
        name = tracing._module_names(model, layer)[kind]
        clean = {}
        h = model.get_submodule(name).register_forward_hook(lambda m, a, o: clean.update(v=tracing._out(o).clone()))
        model(inputs_embeds=emb)
        h.remove()

        def put_back(m, a, o):
            x = tracing._out(o).clone()
            x[:, token] = clean["v"][0, token]
            return (x, *o[1:]) if isinstance(o, tuple) else x

        h = model.get_submodule(name).register_forward_hook(put_back)
        p = torch.softmax(model(inputs_embeds=corrupt).logits[:, -1], -1)[:, target].mean()
        h.remove()
    return float(p) - trace.corrupted


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_trace_matches_a_full_forward_restoration_and_is_zero_before_the_subject(tiny_models, arch):
    model, tok = tiny_models[arch]
    noise = tracing.noise_level(model, tok, ["France", "Italy", "Japan"])
    trace = tracing.trace_fact(model, tok, REQUEST, kind="hidden", noise=noise, samples=2)
    n_layers = model.config.num_hidden_layers
    s0, s1 = trace.subject
    assert tok.decode(tok(REQUEST.prompt)["input_ids"][s0:s1]).strip() == "France"
    assert trace.effects.shape == (n_layers, len(trace.tokens))
    # states before the subject never see the noise (causal attention): restoring them does nothing
    assert np.abs(trace.effects[:, :s0]).max() < 1e-6
    # the last block's output at the last token is the whole clean computation
    assert trace.effects[-1, -1] == pytest.approx(trace.clean - trace.corrupted, abs=1e-6)
    for layer, token in [(0, s1 - 1), (n_layers // 2, len(trace.tokens) - 2)]:
        assert trace.effects[layer, token] == pytest.approx(full_forward_effect(model, tok, trace, layer, token, noise),
                                                            abs=1e-6)


def test_mlp_window_and_position_groups(tiny_models):
    model, tok = tiny_models["llama"]
    noise = tracing.noise_level(model, tok, ["France"])
    trace = tracing.trace_fact(model, tok, REQUEST, kind="mlp", noise=noise, samples=2, window=2)
    assert trace.kind == "mlp" and np.isfinite(trace.effects).all()
    groups = tracing.position_groups(8, 2, 5)
    assert groups == [[2], [3], [4], [5], [6], [7]]
    assert tracing.position_groups(5, 3, 4) == [[], [], [3], [], [], [4]]  # one-token subject right before the end
    table = tracing.average_effect([trace, trace])
    assert table.shape == (model.config.num_hidden_layers, len(tracing.POSITIONS))
    with pytest.raises(ValueError, match="kind"):
        tracing.trace_fact(model, tok, REQUEST, kind="neurons", noise=noise)


def test_format_peaks_names_the_peak_layers_and_how_many_facts_they_average():
    import numpy as np

    from editnb import tracing

    table = np.zeros((4, len(tracing.POSITIONS)))
    table[2, tracing.POSITIONS.index("last subject token")] = 0.5
    text = tracing.format_peaks({"mlp": table}, 4, top=1, n_facts=3)
    assert "(4 layers, averaged over 3 facts)" in text and "layer 2 (0.50 of depth) +0.500" in text


def test_format_profiles_prints_every_layer_and_the_most_a_restoration_can_bring_back():
    import numpy as np

    from editnb import tracing

    fact = tracing.Trace("p", "a", ["x", "y", "z"], (0, 2), "mlp", clean=0.9, corrupted=0.1, effects=np.zeros((3, 3)))
    table = np.zeros((3, len(tracing.POSITIONS)))
    table[:2, tracing.POSITIONS.index("last subject token")] = 0.75
    text = tracing.format_profiles({"mlp": [fact]}, {"mlp": table})
    assert "over 1 facts: clean 0.900, corrupted 0.100 (the most a restoration can bring back: +0.800)" in text
    assert "mlp at the last subject token, layers 0-2: +0.75 +0.75 +0.00" in text and "hidden" not in text
