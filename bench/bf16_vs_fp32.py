"""bf16 autocast against float32 on the same phase-1-like training (lengths 1..4 plus the
copy task, batch 64, the default TrainConfig otherwise), one arm after the other in one
process: loss and held-out FAST / SLOW-step exact match every 500 steps.

    python bench/bf16_vs_fp32.py [--steps 2000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from sector.evaluate import Evaluator
from sector.loop import supervised_examples
from sector.model import build_model
from sector.tasks import get_task
from sector.tasks.copying import copy_examples
from sector.training import Pool, TrainConfig, Trainer, mixed_batches


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    args = ap.parse_args()
    task, oracle = get_task("addition")
    for bf16 in (True, False):
        rng = np.random.default_rng(0)
        pools = [Pool(f"len{d}", 0.7 / 4, supervised_examples(task, oracle, rng, d, 5000)) for d in range(1, 5)]
        pools.append(Pool("copy", 0.3, lambda r, n: copy_examples(r, n, 32)))
        trainer = Trainer(build_model("scratch", seed=0), TrainConfig(precision="bf16" if bf16 else "fp32"))
        evaluator = Evaluator(task, oracle, {"batch_size": 512, "bf16": bf16})
        held = evaluator.fresh_problems(np.random.default_rng(1), range(1, 6), 200)
        t0 = time.perf_counter()
        for done in range(500, args.steps + 1, 500):
            stats = trainer.train(mixed_batches(pools, 64, 500, rng), 500)
            rows = evaluator.accuracy(trainer.model, held, modes=("fast",)) + evaluator.step_accuracy(
                trainer.model, {d: p for d, p in held.items() if d > 1})
            print(f"bf16={bf16} step {done} loss {stats['loss']:.3f} t {time.perf_counter() - t0:.0f}s",
                  " ".join(f"{r['mode'][:4]}{r['digits']}:{r['accuracy']:.2f}" for r in rows), flush=True)


if __name__ == "__main__":
    main()
