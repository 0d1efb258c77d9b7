"""Whether `torch.compile` speeds up a training step: the trainer's own step (AdamW,
micro-batches, fp32) eager and compiled, alternating in one process on the same batches
of a round-like mixture (addition 1..DIGITS and copy strings), the same seed for both.

Shapes change with every micro-batch (lengths follow the problems), so the model is
compiled with dynamic shapes; the first compiled warm-up includes the compilation (and
is shorter where inductor's cache under /tmp already holds it).

    python bench/compile_step.py [--threads 2] [--steps 40] [--digits 12] [--repeats 2]
"""
from __future__ import annotations

import argparse
import time

import torch
from flops import round_like_batches  # bench/flops.py: run as `python bench/compile_step.py`

from sector.model import build_model
from sector.training import TrainConfig, Trainer

WARMUP = 10


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--digits", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    batches = round_like_batches(args.digits, 64, WARMUP + args.steps)
    print(f"threads {args.threads} | batch 64 | 1..{args.digits} digits | {args.steps} timed steps", flush=True)
    for mode in ("eager", "compiled") * args.repeats:
        torch.manual_seed(0)
        cfg = TrainConfig(precision="fp32", micro_batches=3, compile=mode == "compiled")
        trainer = Trainer(build_model("scratch"), cfg)
        t0 = time.perf_counter()
        trainer.train(iter(batches[:WARMUP]), WARMUP)
        warm = time.perf_counter() - t0
        stats = trainer.train(iter(batches[WARMUP:]), args.steps)
        print(f"{mode:8s} | warm-up {warm:6.1f} s | {1000 * stats['wall_s'] / args.steps:6.0f} ms/step | "
              f"loss {stats['loss']:.4f}", flush=True)


if __name__ == "__main__":
    main()
