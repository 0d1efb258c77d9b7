"""A round's evaluation, one decoding call per length against all lengths at once.

The loop's evaluation after a round trained to D digits scores FAST on 1..D+2 and the
full SLOW chain on D-2..D+2, 100 problems a length. Per length, a batch holds 100
problems; all at once, `greedy` fills its batches (it sorts prompts by length) and the
SLOW chains of every length step together. Both arms run here on the same checkpoint and
problems, alternating, in one process; the accuracies must agree.

    python bench/eval_speed.py CHECKPOINT_OR_RUN_DIR --trained-to 21 [--problems 100] [--repeats 2]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sector.evaluate import Evaluator
from sector.rundir import load_checkpoint
from sector.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--trained-to", type=int, required=True)
    ap.add_argument("--problems", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    model = load_checkpoint(args.checkpoint).eval()
    task, oracle = get_task("addition")
    evaluator = Evaluator(task, oracle, {"batch_size": 512, "bf16": False})
    rng = np.random.default_rng(0)
    top = args.trained_to + 2
    fast_set = {d: task.sample(rng, d, args.problems) for d in range(1, top + 1)}
    slow_set = {d: fast_set[d] for d in range(args.trained_to - 2, top + 1)}

    def per_length():
        return ([r for d, ps in fast_set.items() for r in evaluator.accuracy(model, {d: ps}, modes=("fast",))]
                + [r for d, ps in slow_set.items() for r in evaluator.accuracy(model, {d: ps}, modes=("slow",))])

    def together():
        return evaluator.accuracy(model, fast_set, modes=("fast",)) + evaluator.accuracy(model, slow_set, modes=("slow",))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; FAST on 1..{top}, "
          f"SLOW chain on {args.trained_to - 2}..{top}, {args.problems} problems a length")
    times: dict[str, list[float]] = {"per length": [], "all lengths at once": []}
    scores = {}
    for _ in range(args.repeats):
        for name, fn in (("per length", per_length), ("all lengths at once", together)):
            t0 = time.perf_counter()
            rows = fn()
            times[name].append(time.perf_counter() - t0)
            scores[name] = {(r["mode"], r["digits"]): r["correct"] for r in rows}
    for name, ts in times.items():
        print(f"{name:20s} | {' '.join(f'{t:6.1f}' for t in ts)} s | best {min(ts):6.1f} s")
    print(f"speed-up (best of each): {min(times['per length']) / min(times['all lengths at once']):.2f}x")
    differ = {k: (v, scores["all lengths at once"][k]) for k, v in scores["per length"].items()
              if v != scores["all lengths at once"][k]}
    print(f"rows whose correct counts differ: {differ or 'none'}")


if __name__ == "__main__":
    main()
