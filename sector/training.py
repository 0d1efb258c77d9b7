"""The fine-tuning loop, one for both phases: sample a batch from a weighted mixture of
example pools, take an AdamW step, repeat."""
from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from sector.config import ComputeConfig, TrainConfig
from sector.distributed import World
from sector.model import PAD, ByteCodec
from sector.progress import bar

Example = tuple[str, str]  # (prompt, target)
CODEC = ByteCodec()

# AdamW's settings, the same in every run: each cosine cycle ends at MIN_LR_RATIO of its peak.
WEIGHT_DECAY = 0.01
GRAD_CLIP = 1.0
MIN_LR_RATIO = 0.1


@dataclass
class Pool:
    """Examples drawn from with probability `weight` (relative to the other pools), each
    draw passed through `transform` where there is one (say, rewriting some examples)."""

    name: str
    weight: float
    examples: Sequence[Example] | Callable[[np.random.Generator, int], list[Example]]
    transform: Callable[[np.random.Generator, list[Example]], list[Example]] | None = None

    def draw(self, rng: np.random.Generator, count: int) -> list[Example]:
        """`count` examples: made fresh where `examples` is a function, else drawn with replacement."""
        if callable(self.examples):
            drawn = self.examples(rng, count)
        else:
            drawn = [self.examples[i] for i in rng.integers(0, len(self.examples), size=count)]
        return self.transform(rng, drawn) if self.transform else drawn


def mixed_batches(pools: list[Pool], batch_size: int, steps: int,
                  rng: np.random.Generator) -> Iterator[list[Example]]:
    """`steps` batches, each a fresh weighted draw from every pool.

    Batches are deliberately not bucketed by length: lengths follow the task and the mode,
    so length buckets become single-task batches, with which the model did not learn
    2-digit addition (docs/DESIGN.md)."""
    pools = [p for p in pools if p.weight > 0 and (callable(p.examples) or len(p.examples))]
    weights = np.array([p.weight for p in pools], dtype=float)
    for _ in range(steps):
        counts = rng.multinomial(batch_size, weights / weights.sum())
        yield [ex for pool, c in zip(pools, counts) for ex in pool.draw(rng, int(c))]


def micro_batches(batch: list[Example], count: int) -> list[list[Example]]:
    """`batch` sorted by length and cut into at most `count` slices of equal size, so that
    each slice pads to its own longest example."""
    ordered = sorted(batch, key=lambda ex: len(ex[0]) + len(ex[1]))
    bounds = np.linspace(0, len(ordered), min(count, len(ordered)) + 1).round().astype(int)
    return [ordered[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def encode_batch(batch: list[Example]) -> dict[str, torch.Tensor]:
    """Ids, attention mask and labels of (prompt, target) examples, the labels' padding set to -100 so the
    loss ignores it."""
    ids, mask = CODEC.encode([src for src, _ in batch])
    labels, _ = CODEC.encode([tgt for _, tgt in batch])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels.masked_fill(labels == PAD, -100)}


def faster_precision(device: str) -> str:
    """"fp32" on CUDA; on a CPU, "bf16" only if a bf16 matmul of a training step's shape
    beats float32 here (CPUs differ: some have bf16 units, some emulate it). Settles both
    compute.train_precision and compute.decode_precision where they are auto."""
    if device != "cpu":
        # Steps of models this size wait on kernel launches, not arithmetic, and autocast adds
        # cast kernels: on an H200 bf16 was never faster, from 2.4M parameters to ByT5-small's
        # shape (docs/DESIGN.md).
        return "fp32"
    if torch.backends.cpu.get_cpu_capability() != "AVX512":
        return "fp32"  # no bf16 instructions: on an AVX2 EPYC a bf16 matmul took 38x as long
    best = {}
    for dtype in (torch.float32, torch.bfloat16) * 3:
        a, b = torch.randn(4096, 128, dtype=dtype), torch.randn(128, 512, dtype=dtype)
        t0 = time.perf_counter()
        for _ in range(10):
            a @ b
        best[dtype] = min(best.get(dtype, math.inf), time.perf_counter() - t0)
    return "bf16" if best[torch.bfloat16] < best[torch.float32] else "fp32"


def default_micro_batches(device: str) -> int:
    """3 on a CPU, where less padding paid (1.15-1.38x faster steps on 2 cores); 1 on a GPU,
    where each slice costs kernel launches (one slice was 3.3x faster on an H200)."""
    return 1 if device == "cuda" else 3


class Trainer:
    """AdamW on a model; each `train` call runs one cosine cycle from lr down to
    lr * MIN_LR_RATIO, so every phase-1 stage and every round ends on a small step.

    Under torchrun the model is wrapped in DistributedDataParallel and every rank takes its
    slice of the same global batch; the loss is scaled so that the step equals one process
    taking the whole batch (a token-weighted mean over the global batch)."""

    def __init__(self, model: torch.nn.Module, cfg: TrainConfig, compute: ComputeConfig | None = None,
                 world: World = World()):
        compute = compute or ComputeConfig(compile=False)  # eager float32 unless told otherwise
        self.model, self.cfg, self.world = model, cfg, world
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=WEIGHT_DECAY)
        self.step = 0
        self.device = next(model.parameters()).device
        self.forward = model if world.size == 1 else torch.nn.parallel.DistributedDataParallel(model)
        if compute.compile:  # dynamic shapes: lengths vary from batch to batch
            self.forward = torch.compile(self.forward, dynamic=True)
        precision = compute.train_precision
        self.bf16 = (precision if precision != "auto" else faster_precision(self.device.type)) == "bf16"
        self.slices = compute.micro_batches or default_micro_batches(self.device.type)

    def close(self) -> None:
        """Let go of the DistributedDataParallel wrapper before the process group is destroyed:
        its reducer holds the group, whose gloo threads would otherwise live on into interpreter
        shutdown and abort the process there ("terminate called without an active exception")."""
        self.forward = self.model

    def lr_at(self, i: int, steps: int, peak: float, floor: float) -> float:
        """Step i of a cosine cycle of `steps` from `peak` down to `peak` x `floor`, times a
        linear warm-up over the run's first warmup_steps (counted by `self.step`, so it
        happens once per run, not once per cycle)."""
        cfg = self.cfg
        warm = min(1.0, (self.step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
        cos = 0.5 * (1 + math.cos(math.pi * i / max(1, steps)))
        return peak * warm * (floor + (1 - floor) * cos)

    def train(self, batches: Iterable[list[Example]], steps: int, desc: str = "training",
              lr: float | None = None, min_lr_ratio: float | None = None) -> dict[str, float]:
        """Run `steps` optimizer steps on `batches` (global batches), one cosine cycle from
        `lr` to `lr` x `min_lr_ratio` (by default the config's); returns the mean loss and
        throughput. Shows a progress bar with ETA when stderr is a terminal."""
        peak = self.cfg.lr if lr is None else lr
        floor = MIN_LR_RATIO if min_lr_ratio is None else min_lr_ratio
        self.model.train()
        autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16
                    else nullcontext())
        losses, tokens, t0 = [], 0, time.perf_counter()
        progress = bar(steps, desc)
        for i, batch in zip(range(steps), batches):
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_at(i, steps, peak, floor)
            global_targets = sum(len(tgt.encode()) + 1 for _, tgt in batch)  # + eos
            self.optimizer.zero_grad(set_to_none=True)
            slices = micro_batches(self.world.shard(batch), self.slices)
            loss = torch.zeros((), device=self.device)
            for j, piece in enumerate(slices):
                inputs = {k: v.to(self.device) for k, v in encode_batch(piece).items()}
                # DDP all-reduces the accumulated gradients once, after the last slice.
                last = j == len(slices) - 1
                with nullcontext() if self.world.size == 1 or last else self.forward.no_sync():
                    with autocast:
                        local_mean = self.forward(**inputs).loss
                    # This slice's share of the global token mean; DDP averages over ranks.
                    share = local_mean * (inputs["labels"] >= 0).sum() / global_targets
                    (share * self.world.size).backward()
                loss = loss + share.detach()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), GRAD_CLIP)
            self.optimizer.step()
            self.step += 1
            losses.append(loss)
            tokens += global_targets + sum(len(src.encode()) + 1 for src, _ in batch)
            progress.update(1)
            if i % 20 == 0:
                progress.set_postfix(loss=f"{loss.item() * self.world.size:.3f}")
        progress.close()
        mean = torch.stack(losses).mean() if losses else torch.tensor(float("nan"))
        if self.world.size > 1:
            torch.distributed.all_reduce(mean)
        loss = float(mean)  # waits for the device, so the wall time below includes its queued work
        wall = time.perf_counter() - t0
        return {"loss": loss, "steps": len(losses), "tokens_per_s": tokens / max(wall, 1e-9), "wall_s": wall}
