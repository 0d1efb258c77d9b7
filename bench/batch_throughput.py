"""Training step time against batch size, float32 and bf16 autocast, in one process: 20
timed steps after 3 warm-up steps on 1..12-digit FAST/SLOW examples plus the copy task.

    python bench/batch_throughput.py
"""
from __future__ import annotations

import time

import numpy as np

from sector.loop import supervised_examples
from sector.model import build_model
from sector.tasks import get_task
from sector.tasks.copying import copy_examples
from sector.training import Pool, TrainConfig, Trainer, mixed_batches


def main() -> None:
    task, oracle = get_task("addition")
    rng = np.random.default_rng(0)
    examples = [ex for d in range(1, 13) for ex in supervised_examples(task, oracle, rng, d, 500)]
    pools = [Pool("addition", 0.7, examples), Pool("copy", 0.3, lambda r, n: copy_examples(r, n, 32))]
    for batch in (64, 128, 256, 512):
        for bf16 in (False, True):
            trainer = Trainer(build_model("scratch", seed=0), TrainConfig(batch_size=batch, precision="bf16" if bf16 else "fp32"))
            trainer.train(mixed_batches(pools, batch, 3, rng), 3)
            t0 = time.perf_counter()
            stats = trainer.train(mixed_batches(pools, batch, 20, rng), 20)
            wall = time.perf_counter() - t0
            print(f"batch {batch} bf16 {bf16}: {wall / 20 * 1000:.0f} ms/step, {batch * 20 / wall:.0f} examples/s, "
                  f"{stats['tokens_per_s']:.0f} tokens/s", flush=True)


if __name__ == "__main__":
    main()
