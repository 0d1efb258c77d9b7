"""Does T5's relative-position bucketing limit copying? Train the scratch model on the copy
task alone (strings of 1..MAX over the addition symbols, half with a run of one symbol)
with a given number of buckets, then report exact copies by length and where the first
wrong character falls. From distance 32 on, 128 buckets give two neighbouring distances
one bucket; 256 give each distance up to 64 its own.

    python bench/copy_buckets.py --buckets 128 [--steps 2400] [--max-len 48]
    (run one arm per core, side by side: OMP_NUM_THREADS=1)
"""
from __future__ import annotations

import argparse
import collections
import time

import numpy as np
import torch

from sector.decoding import greedy
from sector.model import build_model
from sector.tasks.copying import copy_examples
from sector.training import TrainConfig, Trainer

SYMBOLS = "0123456789+"  # addition's


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--buckets", type=int, default=128)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--max-len", type=int, default=48)
    args = ap.parse_args()
    model = build_model("scratch", seed=0, relative_attention_num_buckets=args.buckets)
    rng = np.random.default_rng(0)
    batches = (copy_examples(rng, 64, args.max_len, SYMBOLS, 0.5) for _ in range(args.steps))
    t0 = time.perf_counter()
    stats = Trainer(model, TrainConfig(precision="fp32")).train(batches, args.steps)
    print(f"buckets {args.buckets} | {args.steps} steps in {time.perf_counter() - t0:.0f} s | loss {stats['loss']:.4f}")
    test = np.random.default_rng(1)
    for length in (16, 24, 31, 34, 40, 48):
        pairs = [ex for ex in copy_examples(test, 300 * length, length, SYMBOLS, 0.5) if len(ex[1]) == length][:200]
        outs = greedy(model, [p for p, _ in pairs], length + 3)
        first = [next((i for i, (a, b) in enumerate(zip(o, t)) if a != b), min(len(o), len(t)))
                 for o, (_, t) in zip(outs, pairs) if o != t]
        buckets = collections.Counter(8 * (i // 8) for i in first)
        print(f"  length {length}: exact {1 - len(first) / len(pairs):.3f} | first wrong position "
              f"(bucket of 8: count) {dict(sorted(buckets.items()))}")


if __name__ == "__main__":
    main()
