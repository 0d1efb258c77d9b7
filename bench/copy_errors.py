"""How far a checkpoint copies: the generic copy task at exact string lengths, and where
the copies that go wrong first lose a character (in a run of equal characters or not).
A checkpoint's last round trained copies up to 2 x (its length + copy_ahead) + 2 characters.

    python bench/copy_errors.py CHECKPOINT [--lengths 40 50 54 60 64] [--count 400]
"""
from __future__ import annotations

import argparse
import collections

import numpy as np

from sector.decoding import greedy
from sector.rundir import load_checkpoint
from sector.tasks.copying import copy_examples


def exact_length(rng: np.random.Generator, count: int, length: int) -> list[tuple[str, str]]:
    """Uniform copy strings of exactly `length` characters (the task's own sampler, filtered)."""
    out: list[tuple[str, str]] = []
    while len(out) < count:
        out += [ex for ex in copy_examples(rng, 20 * count, length) if len(ex[1]) == length]
    return out[:count]


def verdict(out: str, want: str) -> str:
    if out == want:
        return "right"
    if len(out) >= len(want):
        return "long" if len(out) > len(want) else "same length"
    i = next((i for i, (a, b) in enumerate(zip(out, want)) if a != b), len(out))
    in_run = want[i] in want[max(0, i - 1) : i] + want[i + 1 : i + 2]
    return "short, first lost char in a run" if in_run else "short, other"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--lengths", type=int, nargs="+", default=[40, 50, 54, 60, 64])
    ap.add_argument("--count", type=int, default=400)
    args = ap.parse_args()
    model = load_checkpoint(args.checkpoint).eval()
    rng = np.random.default_rng(5)
    for length in args.lengths:
        examples = exact_length(rng, args.count, length)
        outs = greedy(model, [prompt for prompt, _ in examples], length + 3)
        counts = collections.Counter(verdict(out, want) for out, (_, want) in zip(outs, examples))
        print(f"{length} characters | {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
