"""Batched evaluate() versus EasyEdit's per-example loop (generate with use_cache=False per probe).

    .venv/bin/python benchmarks/bench_evaluate.py [--requests 100] [--batch-size 16]

Both run in this process on the same requests; the script checks that they give identical
metrics, then times the unavoidable work: one batched forward over every teacher-forced
sequence, plus prefill and cached decode steps for the generations evaluate() made.
"""
import argparse
import time

import torch

from editnb.data.embedded import load_embedded
from editnb.evaluate import EvalConfig, evaluate, evaluate_reference, pre_edit
from editnb.evaluate.core import probes_of
from editnb.evaluate.config import in_context
from editnb.models import load_model
from editnb.nb import quiet_libraries
from editnb.scoring import forward_logits
from editnb.tokenization import encode, encode_prompt_target, left_pad, pad_id, teacher_forced_batch

DISCRETE = ("rewrite_acc", "rephrase_acc", "locality", "portability", "locality_acc_pre", "locality_acc_post",
            "rewrite_em", "rewrite_prefix", "rewrite_exact", "rewrite_text", "locality_whole")


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def mismatches(a_rows, b_rows):
    bad = []
    for a, b in zip(a_rows, b_rows):
        for key in DISCRETE:
            if a.get(key) != b.get(key):
                bad.append((a["id"], a["protocol"], key, a.get(key), b.get(key)))
        for pa, pb in zip(a["probes"], b["probes"]):
            for key in ("acc", "exact_match", "success", "text", "agreement"):
                if pa.get(key) != pb.get(key):
                    bad.append((a["id"], a["protocol"], pa["role"], key, pa.get(key), pb.get(key)))
    return bad


@torch.no_grad()
def unavoidable(model, tok, requests, rows, config):
    """Forward passes alone: teacher-forced batches, then prefill + one cached step per generated token."""
    specs = list(dict.fromkeys((s.prompt, s.target) for r in requests for s in probes_of(r)))
    pairs = sorted((encode_prompt_target(tok, p, t) for p, t in specs), key=lambda x: len(x.ids))
    start = time.perf_counter()
    for i in range(0, len(pairs), config.batch_size):
        forward_logits(model, teacher_forced_batch(tok, pairs[i:i + config.batch_size]))
    tf_time = time.perf_counter() - start
    lengths = {}
    for row in rows:
        if row["protocol"] == "autoregressive":
            for p in row["probes"]:
                lengths[p["prompt"]] = p["n_tokens"]
    prompts = sorted(lengths, key=lambda p: len(encode(tok, p)))
    start = time.perf_counter()
    for i in range(0, len(prompts), config.batch_size):
        chunk = prompts[i:i + config.batch_size]
        batch = left_pad([encode(tok, *in_context(tok, p, config.context)) for p in chunk], pad_id(tok))
        steps = min(config.max_new_tokens, max(lengths[p] for p in chunk) + 1)
        out = model(**batch, use_cache=True, logits_to_keep=1)  # as generate(): no lm_head over the prompt
        cache, mask, pos = out.past_key_values, batch["attention_mask"], batch["position_ids"][:, -1:]
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        for _ in range(steps - 1):
            mask = torch.cat([mask, torch.ones_like(nxt)], dim=1)
            pos = pos + 1
            out = model(input_ids=nxt, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True)
            cache, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    return tf_time, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    quiet_libraries()
    torch.manual_seed(0)
    model, tok = load_model()
    requests = load_embedded("test", n=args.requests)
    config = EvalConfig(batch_size=args.batch_size, fluency=False, progress=False)
    n_probes = sum(len(probes_of(r)) for r in requests)
    print(f"SmolLM2-135M-Instruct, {len(requests)} requests, {n_probes} probes, both protocols, "
          f"max_new_tokens={config.max_new_tokens}, batch_size={config.batch_size}, threads={torch.get_num_threads()}")
    pre = pre_edit(model, tok, requests, config)
    rows, t_batched = timed(lambda: evaluate(model, tok, requests, pre=pre, config=config))
    ref, t_loop = timed(lambda: evaluate_reference(model, tok, requests, pre=pre, config=config, use_cache=False))
    bad = mismatches(rows, ref)
    print(f"evaluate (batched, KV cache):             {t_batched:8.1f} s")
    print(f"per-example loop, generate(use_cache=False): {t_loop:8.1f} s")
    print(f"speed-up: {t_loop / t_batched:.1f}x   identical metrics: {not bad} ({len(bad)} differences)")
    for item in bad[:10]:
        print("  differs:", item)
    tf_time, gen_time = unavoidable(model, tok, requests, rows, config)
    floor = tf_time + gen_time
    print(f"unavoidable work: teacher-forced forward {tf_time:.1f} s + prefill/cached decode {gen_time:.1f} s = {floor:.1f} s")
    print(f"evaluate / unavoidable = {t_batched / floor:.2f}")


if __name__ == "__main__":
    main()
