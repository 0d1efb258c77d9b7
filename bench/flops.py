"""How much of the machine a training step uses: the step's achieved FLOP/s as a fraction
of a plain square matmul's, in fp32 and under bf16 autocast, measured in one process.

FLOPs of a step (forward + backward) are counted by torch's FlopCounterMode on real
batches shaped like a round's (`round_like_batches`), cut into the trainer's micro-batches
as a step computes them (so padding that the slices avoid is not counted), with attention
and the LM head included and nothing estimated by hand.

On a GPU the reference is an 8192^2 matmul in each precision (the chip's dense rate), and
the device is synchronised before every clock read. `--compile eager compiled` also times
the step through torch.compile (compute.compile); every arm first runs all the batches
once, untimed, so compiling and recompiling for new shapes are left out.

    python bench/flops.py [--model scratch ...] [--digits 12] [--batch 64] [--steps 20] [--prompt-format plain]
                          [--precisions fp32 bf16] [--micro-batches 3 ...] [--compile eager compiled]
                          [--device cpu|cuda]

Results: docs/RESULTS.md, "Speed" ("Training FLOP/s").
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from sector import get_task
from sector.config import ComputeConfig, MixtureConfig, TrainConfig
from sector.method import supervised_examples
from sector.mixture import NEW_WEIGHT, REPLAY_WEIGHT, copy_pools
from sector.model import MODEL_PRESETS, build_model, num_parameters
from sector.training import Pool, Trainer, default_micro_batches, encode_batch, micro_batches, mixed_batches


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


def round_like_batches(digits: int, batch: int, steps: int, prompt_format: str = "columns") -> list[list[tuple[str, str]]]:
    """`steps` batches shaped like a round's at `digits`: addition of 1..`digits` digits (FAST
    and SLOW steps, in place of its new labels and replay) beside the round's own copy task;
    the same batches on every call."""
    task, oracle = get_task("addition", prompt_format)
    rng = np.random.default_rng(0)
    examples = [ex for d in range(1, digits + 1) for ex in supervised_examples(task, oracle, rng, d, 300)]
    pools = [Pool("addition", NEW_WEIGHT + REPLAY_WEIGHT, examples), *copy_pools(MixtureConfig(), task, digits)]
    return list(mixed_batches(pools, batch, steps, rng))


def step_flops(model, batch, slices: int) -> int:
    with FlopCounterMode(display=False) as counter:
        for part in micro_batches(batch, slices):
            model(**{k: v.to(model.device) for k, v in encode_batch(part).items()}).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", nargs="+", default=["scratch"], choices=list(MODEL_PRESETS),
                    help="size presets of sector.model")
    ap.add_argument("--digits", type=int, default=12, help="problems of 1..DIGITS in the mixture")
    ap.add_argument("--batch", type=int, default=64, help="examples a step")
    ap.add_argument("--prompt-format", default="columns", choices=["columns", "plain"],
                    help="how the batches write problems (the records in RESULTS before 2026-12-07: plain)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps an arm (after as many untimed)")
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"],
                    help="bf16 is emulated, and very slow, on a CPU without AVX-512")
    ap.add_argument("--micro-batches", nargs="+", type=int, help="default: the trainer's for the device")
    ap.add_argument("--compile", nargs="+", default=["eager"], choices=["eager", "compiled"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    slice_counts = args.micro_batches or [default_micro_batches(device.type)]
    if min(slice_counts) < 1 or min(args.digits, args.batch, args.steps) < 1:
        ap.error("--micro-batches, --digits, --batch and --steps must be >= 1")
    batches = round_like_batches(args.digits, args.batch, args.steps, args.prompt_format)
    print(f"{device} | threads {torch.get_num_threads()} | batch {args.batch} | 1..{args.digits} digits")
    peaks = {p: matmul_flops_per_s(8192 if device.type == "cuda" else 1024,
                                   torch.bfloat16 if p == "bf16" else torch.float32, device) for p in args.precisions}
    for name in args.model:
        model = build_model(name).to(device)
        params = num_parameters(model)
        for slices in slice_counts:
            flops = sum(step_flops(model, b, slices) for b in batches) / len(batches)
            for precision, mode in ((p, m) for p in args.precisions for m in args.compile):
                compute = ComputeConfig(train_precision=precision, micro_batches=slices, compile=mode == "compiled")
                trainer = Trainer(build_model(name).to(device), TrainConfig(batch_size=args.batch), compute)
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
