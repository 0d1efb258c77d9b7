"""Why sector's training batches are not bucketed by length.

Trains the `scratch` model on FAST and SLOW-step examples of 1..3 digits twice, from the
same seed: once with batches bucketed by length (16 batches drawn together, sorted, cut),
once with plain mixed batches, and prints held-out exact match every `--every` steps.

    python bench/ablation_bucketing.py [--every 300] [--checks 3]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from sector.evaluate import Evaluator
from sector.loop import supervised_examples
from sector.model import build_model
from sector.tasks import get_task
from sector.training import Pool, TrainConfig, Trainer, mixed_batches


def bucketed(pools, batch_size, steps, rng, bucket=16):
    """Batches of similar length: draw `bucket` batches at once, sort by length, cut."""
    plain = mixed_batches(pools, batch_size * bucket, (steps + bucket - 1) // bucket, rng)
    for big in plain:
        big.sort(key=lambda ex: len(ex[0]) + len(ex[1]))
        for b in rng.permutation(bucket):
            yield big[b * batch_size : (b + 1) * batch_size]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=300)
    ap.add_argument("--checks", type=int, default=3)
    args = ap.parse_args()
    task, oracle = get_task("addition")
    for name, batches in [("mixed", mixed_batches), ("bucketed", bucketed)]:
        rng = np.random.default_rng(0)
        model = build_model("scratch", seed=0)
        trainer = Trainer(model, TrainConfig(batch_size=128, lr=1e-3, warmup_steps=50, min_lr_ratio=1.0))
        pools = [Pool(f"len{d}", 1, supervised_examples(task, oracle, rng, d, 3000)) for d in (1, 2, 3)]
        evaluator = Evaluator(task, oracle, {})
        for check in range(1, args.checks + 1):
            stats = trainer.train(batches(pools, 128, args.every, rng), args.every)
            rows = (evaluator.accuracy(model, evaluator.fresh_problems(rng, [1, 2, 3], 100), modes=("fast",))
                    + evaluator.step_accuracy(model, evaluator.fresh_problems(rng, [2, 3], 100)))
            scores = " ".join(f"{r['mode']}@{r['digits']}={r['accuracy']:.2f}" for r in rows)
            print(f"{name:8s} step {check * args.every:5d} loss {stats['loss']:.3f} {scores}", flush=True)


if __name__ == "__main__":
    main()
