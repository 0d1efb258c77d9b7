"""Does a short low-learning-rate pass over a run's own data lift FAST on every length?

From a round checkpoint of a run directory, the loop's own anneal (`sector.loop.anneal`:
STEPS steps on the run's replay, phase-1 pools and every self-labelled length in equal
shares, SLOW steps padded as the run's config pads a round's, plus its copy task, the
learning rate falling from LR to 0); FAST on the same fresh problems before and after. No
answer function reaches the training; the evaluation uses it.

    python bench/polish_probe.py RUN_DIR CHECKPOINT_NAME [--steps 400] [--lr 3e-4] [--count 500]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from sector.config import Config
from sector.evaluate import Evaluator
from sector.loop import anneal, saved_data
from sector.rundir import RunDir, load_checkpoint
from sector.tasks import get_task
from sector.training import Trainer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("checkpoint")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--count", type=int, default=500)
    args = ap.parse_args()
    run = RunDir.open(args.run)
    cfg = Config.from_saved(run.config)
    task, oracle = get_task(cfg.task)
    model = load_checkpoint(run.path / "checkpoints" / args.checkpoint)
    top = max((int(p.stem[-2:]) for p in (run.path / "data").glob("self_len*.jsonl")), default=cfg.supervised_digits)
    replay, _ = saved_data(run, cfg, top)
    evaluator = Evaluator(task, oracle, {"batch_size": cfg.decode_batch, "bf16": False})
    problems = evaluator.fresh_problems(np.random.default_rng(2026), range(1, top + 1), args.count)

    def fast_row() -> dict[int, float]:
        model.eval()
        return {r["digits"]: r["accuracy"] for r in evaluator.accuracy(model, problems, modes=("fast",))}

    before = fast_row()
    # A fresh trainer starts at step 0: no warm-up, so the cycle starts at LR as in a run.
    cfg = dataclasses.replace(cfg, anneal_steps=args.steps, anneal_lr=args.lr,
                              train=dataclasses.replace(cfg.train, warmup_steps=0))
    t0 = time.perf_counter()
    stats = anneal(Trainer(model, cfg.train), replay, cfg, task, np.random.default_rng(7), {})
    after = fast_row()
    print(f"{args.steps} steps, lr {args.lr:g} -> 0, loss {stats['loss']:.4f}, {time.perf_counter() - t0:.0f} s")
    for d in sorted(before):
        print(f"{d:2d} digits | FAST before {before[d]:.3f} after {after[d]:.3f}")
    print(f"min before {min(before.values()):.3f} after {min(after.values()):.3f} | "
          f"mean before {np.mean(list(before.values())):.4f} after {np.mean(list(after.values())):.4f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
