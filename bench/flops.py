"""How much of the machine a training step uses: the step's achieved FLOP/s as a fraction
of a plain square matmul's, in fp32 and under bf16 autocast, measured in one process.

FLOPs of a step (forward + backward) are counted by torch's FlopCounterMode on a real
batch of the round mixture, cut into the trainer's micro-batches as a step computes it
(so padding the step no longer does is not counted), with attention and the LM head
included and nothing estimated by hand.

    python bench/flops.py [--model scratch] [--digits 12] [--batch 64] [--steps 20] [--precisions fp32 bf16]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from sector.loop import supervised_examples
from sector.model import build_model
from sector.tasks import get_task
from sector.tasks.copying import copy_examples
from sector.training import Pool, TrainConfig, Trainer, encode_batch, micro_batches, mixed_batches


def matmul_flops_per_s(size: int, dtype: torch.dtype, repeats: int = 20) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - t0)


def step_flops(model, batch, slices: int) -> int:
    with FlopCounterMode(display=False) as counter:
        for part in micro_batches(batch, slices):
            model(**encode_batch(part)).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="scratch")
    ap.add_argument("--digits", type=int, default=12, help="problems of 1..DIGITS in the mixture")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"],
                    help="bf16 is emulated, and very slow, on a CPU without AVX-512")
    args = ap.parse_args()
    slices = TrainConfig().micro_batches
    task, oracle = get_task("addition")
    rng = np.random.default_rng(0)
    examples = [ex for d in range(1, args.digits + 1) for ex in supervised_examples(task, oracle, rng, d, 300)]
    pools = [Pool("addition", 0.7, examples), Pool("copy", 0.3, lambda r, n: copy_examples(r, n, 2 * args.digits + 14, task.symbols))]
    batches = list(mixed_batches(pools, args.batch, args.steps, rng))
    flops = sum(step_flops(build_model(args.model), b, slices) for b in batches) / len(batches)
    print(f"threads {torch.get_num_threads()} | model {args.model} | batch {args.batch} | "
          f"1..{args.digits} digits | {slices} micro-batches | {flops / 1e9:.2f} GFLOP per step (fwd+bwd)")
    for precision in args.precisions:
        bf16 = precision == "bf16"
        peak = matmul_flops_per_s(1024, torch.bfloat16 if bf16 else torch.float32)
        trainer = Trainer(build_model(args.model), TrainConfig(batch_size=args.batch, precision=precision))
        trainer.train(iter(batches[:3]), 3)  # warm up kernels and allocator
        stats = trainer.train(iter(batches), len(batches))
        achieved = flops * stats["steps"] / stats["wall_s"]
        print(f"{'bf16' if bf16 else 'fp32'}: matmul 1024^2 {peak / 1e9:.1f} GFLOP/s | training step "
              f"{achieved / 1e9:.1f} GFLOP/s = {achieved / peak:.0%} of matmul | "
              f"{1000 * stats['wall_s'] / stats['steps']:.0f} ms/step")


if __name__ == "__main__":
    main()
