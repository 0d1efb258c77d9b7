"""Padding against step time: one training step on a batch of the round mixture at n digits,
padded as one batch or sorted by length and run as m micro-batches that accumulate the
same gradient (TrainConfig.micro_batches), side by side in one process.

The mixture is a round's: new n-digit FAST and SLOW examples, replay of 1..n-1, and copy
strings up to 2(n+6)+2 long, so copy strings set a whole batch's padded length. Only the
cost is measured: the token weighting that makes the slices' step equal the whole batch's
(tests/test_training.py) costs nothing and is left out.

    python bench/micro_batches.py [--digits 8 23] [--batch 64] [--batches 12]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sector.loop import supervised_examples
from sector.model import build_model
from sector.tasks import get_task
from sector.tasks.copying import copy_examples
from sector.training import Pool, encode_batch, micro_batches, mixed_batches


def round_batches(digits: int, batch: int, count: int) -> list:
    task, oracle = get_task("addition")
    rng = np.random.default_rng(0)
    new = supervised_examples(task, oracle, rng, digits, 300)
    replay = [ex for d in range(1, digits) for ex in supervised_examples(task, oracle, rng, d, 100)]
    copy_len = max(32, 2 * (digits + 6) + 2)
    pools = [Pool("new", 0.4, new), Pool("replay", 0.3, replay),
             Pool("copy", 0.3, lambda r, k: copy_examples(r, k, copy_len, task.symbols, 0.5))]
    return list(mixed_batches(pools, batch, count, rng))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--digits", type=int, nargs="+", default=[8, 23])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=12)
    args = ap.parse_args()
    model = build_model("scratch")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for digits in args.digits:
        batches = round_batches(digits, args.batch, args.batches)
        best: dict[int, float] = {}
        for m in (1, 2, 3, 4) * 2:  # the first pass warms up kernels and the allocator
            t0 = time.perf_counter()
            for batch in batches:
                optimizer.zero_grad()
                for piece in micro_batches(batch, m):
                    model(**encode_batch(piece)).loss.backward()
                optimizer.step()
            best[m] = min(best.get(m, float("inf")), (time.perf_counter() - t0) / len(batches))
        print(f"{digits} digits | threads {torch.get_num_threads()} | batch {args.batch} | "
              + " | ".join(f"m={m}: {1000 * s:.0f} ms ({best[1] / s:.2f}x)" for m, s in best.items()))


if __name__ == "__main__":
    main()
