"""The SLOW step and FAST on n-digit problems whose one operand is written with z leading
zeros (a mixed-length problem), by z: where does the copy of a run of zeros break?

For each z in 0..n-1 (every `--every`-th), `--count` fresh problems: one operand with n
digits, the other with n - z digits zero-padded to n, the padded one first in half of
them, carries drawn at random. Prints the share of exactly right SLOW steps (and how many
wrote more or fewer characters than the right one) and of right FAST answers.
The truth scores; nothing trains.

    python bench/zero_runs.py /work/runs/seed1_20/checkpoints/round_014 21 --every 2
"""
from __future__ import annotations

import argparse

import numpy as np

from sector.decoding import fast, reduce_and_guess
from sector.rundir import load_checkpoint
from sector.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("digits", type=int)
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--every", type=int, default=1)
    args = ap.parse_args()
    task, oracle = get_task("addition")
    model = load_checkpoint(args.checkpoint)
    rng = np.random.default_rng(0)
    n = args.digits

    def number(k: int) -> str:
        return "".join(map(str, [rng.integers(1, 10), *rng.integers(0, 10, k - 1)]))

    for z in range(0, n, args.every):
        problems = []
        for i in range(args.count):
            a, b = number(n), "0" * z + number(n - z)
            problems.append(task.problem(*((b, a) if i % 2 else (a, b)), int(rng.integers(0, 2))))
        targets = [task.slow_target(*oracle.slow_step(p)) for p in problems]
        texts = reduce_and_guess(model, task, problems, depth=1, no_guess=range(2)).step_texts[0]
        right = np.mean([t == target for t, target in zip(texts, targets)])
        longer = sum(len(t) > len(target) for t, target in zip(texts, targets))
        shorter = sum(len(t) < len(target) for t, target in zip(texts, targets))
        fast_right = np.mean([a == oracle.answer(p) for a, p in zip(fast(model, task, problems), problems)])
        print(f"n={n} zeros={z:2d} | SLOW step {right:.2f} (too long {longer}, too short {shorter}) | FAST {fast_right:.2f}")

if __name__ == "__main__":
    main()
