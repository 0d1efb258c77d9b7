"""How much of the machine a training step uses: the step's achieved FLOP/s as a fraction
of a plain square matmul's, in fp32 and under bf16 autocast, measured in one process.

FLOPs of a step (forward + backward) are counted by torch's FlopCounterMode on a real
batch of the round mixture, cut into the trainer's micro-batches as a step computes it
(so padding the step no longer does is not counted), with attention and the LM head
included and nothing estimated by hand.

On a GPU the reference is an 8192^2 matmul in each precision (the chip's dense rate), and
the device is synchronised before every clock read. `--compile eager compiled` also times
the step through torch.compile (train.compile); every arm first runs all the batches once,
untimed, so compiling and recompiling for new shapes are left out.

    python bench/flops.py [--model scratch ...] [--digits 12] [--batch 64] [--steps 20]
                          [--precisions fp32 bf16] [--micro-batches 3 ...] [--compile eager compiled]
                          [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from sector.loop import supervised_examples
from sector.model import build_model, num_parameters
from sector.tasks import get_task
from sector.tasks.copying import copy_examples
from sector.training import (Pool, TrainConfig, Trainer, default_micro_batches, encode_batch, micro_batches,
                              mixed_batches)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops_per_s(size: int, dtype: torch.dtype, device: torch.device, repeats: int = 20) -> float:
    a, b = (torch.randn(size, size, dtype=dtype, device=device) for _ in range(2))
    a @ b
    sync(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - t0)


def round_like_batches(digits: int, batch: int, steps: int) -> list[list[tuple[str, str]]]:
    """`steps` batches of a round's mixture: addition of 1..`digits` digits (FAST and SLOW) and
    copy strings as long as a round at `digits` copies; the same batches on every call."""
    task, oracle = get_task("addition")
    rng = np.random.default_rng(0)
    examples = [ex for d in range(1, digits + 1) for ex in supervised_examples(task, oracle, rng, d, 300)]
    copy_len = 2 * digits + 14
    pools = [Pool("addition", 0.7, examples),
             Pool("copy", 0.3, lambda r, n: copy_examples(r, n, copy_len, task.symbols))]
    return list(mixed_batches(pools, batch, steps, rng))


def step_flops(model, batch, slices: int) -> int:
    with FlopCounterMode(display=False) as counter:
        for part in micro_batches(batch, slices):
            model(**{k: v.to(model.device) for k, v in encode_batch(part).items()}).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", nargs="+", default=["scratch"], help="size presets of sector.model")
    ap.add_argument("--digits", type=int, default=12, help="problems of 1..DIGITS in the mixture")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"],
                    help="bf16 is emulated, and very slow, on a CPU without AVX-512")
    ap.add_argument("--micro-batches", nargs="+", type=int, help="default: the trainer's for the device")
    ap.add_argument("--compile", nargs="+", default=["eager"], choices=["eager", "compiled"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    slice_counts = args.micro_batches or [default_micro_batches(device.type)]
    if min(slice_counts) < 1:
        ap.error("--micro-batches must be >= 1")
    batches = round_like_batches(args.digits, args.batch, args.steps)
    print(f"{device} | threads {torch.get_num_threads()} | batch {args.batch} | 1..{args.digits} digits")
    peaks = {p: matmul_flops_per_s(8192 if device.type == "cuda" else 1024,
                                   torch.bfloat16 if p == "bf16" else torch.float32, device) for p in args.precisions}
    for name in args.model:
        model = build_model(name).to(device)
        params = num_parameters(model)
        for slices in slice_counts:
            flops = sum(step_flops(model, b, slices) for b in batches) / len(batches)
            for precision, mode in ((p, m) for p in args.precisions for m in args.compile):
                cfg = TrainConfig(batch_size=args.batch, precision=precision, micro_batches=slices,
                                  compile=mode == "compiled")
                trainer = Trainer(build_model(name).to(device), cfg)
                trainer.train(iter(batches), len(batches))  # warm up kernels, allocator and compiler
                stats = trainer.train(iter(batches), len(batches))
                achieved = flops * stats["steps"] / stats["wall_s"]
                print(f"{name} ({params / 1e6:.1f}M) | {slices} micro-batches | {precision} {mode} | "
                      f"{flops / 1e9:.2f} GFLOP/step | {1000 * stats['wall_s'] / stats['steps']:.1f} ms/step | "
                      f"{stats['tokens_per_s']:,.0f} tokens/s | {achieved / 1e9:.1f} GFLOP/s = "
                      f"{achieved / peaks[precision]:.1%} of a {precision} matmul "
                      f"({peaks[precision] / 1e12:.2f} TFLOP/s)")


if __name__ == "__main__":
    main()
