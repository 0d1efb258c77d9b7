"""Labelling speed: Simplify-then-Guess + commutativity labels per second, with sector's
batched greedy decoder against transformers' `generate()`, on the same checkpoint and
the same problems, in one process (so the ratio is fair on a noisy machine).

    python bench/label_speed.py CHECKPOINT_OR_RUN_DIR [--digits 20] [--problems 200]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import sector.decoding as decoding
from sector.labelling import Commutativity, SimplifyThenGuess, apply_filters
from sector.model import EOS, PAD, ByteCodec
from sector.rundir import load_checkpoint
from sector.tasks import get_task

ours = decoding.greedy


@torch.no_grad()
def with_generate(model, prompts, max_new_tokens, batch_size=512, bf16=False):
    codec, out = ByteCodec(), []
    for start in range(0, len(prompts), batch_size):
        ids, mask = codec.encode(prompts[start : start + batch_size])
        gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                             do_sample=False, num_beams=1, decoder_start_token_id=PAD,
                             eos_token_id=EOS, pad_token_id=PAD)
        out += codec.decode(gen[:, 1:])
    return out


def label(model, task, problems):
    labeller = SimplifyThenGuess(k=5)
    labels = labeller(model, task, problems)
    apply_filters(model, task, labeller, [Commutativity()], labels)
    return labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--digits", type=int, default=20)
    ap.add_argument("--problems", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    model = load_checkpoint(args.checkpoint).eval()
    task, _ = get_task("addition")
    problems = task.sample(np.random.default_rng(0), args.digits, args.problems)
    results = {}
    for name, fn in [("sector greedy", ours), ("transformers generate", with_generate)] * args.repeats:
        decoding.greedy = fn
        t0 = time.perf_counter()
        labels = label(model, task, problems)
        rate = len(problems) / (time.perf_counter() - t0)
        results.setdefault(name, []).append(rate)
        results.setdefault(name + " labels", labels)
    decoding.greedy = ours
    same = all(a.label == b.label and a.reason == b.reason
               for a, b in zip(results["sector greedy labels"], results["transformers generate labels"]))
    best = {k: max(v) for k, v in results.items() if not k.endswith("labels")}
    for name, rate in best.items():
        print(f"{name:24s} {rate:8.1f} labelled problems/s (best of {args.repeats})")
    print(f"ratio {best['sector greedy'] / best['transformers generate']:.2f}x; identical labels: {same}")


if __name__ == "__main__":
    main()
