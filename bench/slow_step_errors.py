"""Where a checkpoint's SLOW step goes wrong: for fresh n-digit problems, the first output
position at which the step differs from the true one, in buckets of 4 characters. A copy
that breaks at a fixed position whatever n is points at position encoding, not at n.

    python bench/slow_step_errors.py CHECKPOINT N [N ...] [--count 400]
"""
from __future__ import annotations

import argparse
import collections

import numpy as np

from sector.decoding import greedy
from sector.model import load_model
from sector.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("digits", type=int, nargs="+")
    ap.add_argument("--count", type=int, default=400)
    args = ap.parse_args()
    task, oracle = get_task("addition")
    model = load_model(args.checkpoint).eval()
    for n in args.digits:
        problems = task.sample(np.random.default_rng(11), n, args.count)
        prompts = [task.slow_prompt(p) for p in problems]
        truth = [task.slow_target(*oracle.slow_step(p)) for p in problems]
        first = [next((i for i, (a, b) in enumerate(zip(out, want)) if a != b), min(len(out), len(want)))
                 for out, want in zip(greedy(model, prompts, len(prompts[0]) + 3), truth) if out != want]
        buckets = collections.Counter(4 * (i // 4) for i in first)
        print(f"{n} digits | prompt {len(prompts[0])} chars | wrong {len(first)}/{args.count} | first wrong "
              f"position (bucket start: count) {dict(sorted(buckets.items()))}")


if __name__ == "__main__":
    main()
