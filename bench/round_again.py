"""Train one round of a finished run again, from the round before's checkpoint, on the
round's own saved labels, with other learning rates (`round_lr`): does a gentler rate keep
the lengths just learned from being forgotten between checks (session 20's seed 1, rounds
10-14)?

Each variant starts from the checkpoint the run saved before the round, with a fresh AdamW
(a run keeps optimizer moments only in its newest checkpoint) and eager training, and runs
`loop.self_train` as the round did: chunks of round_steps, each one cosine cycle from the
rate down to a tenth, a check of every held-out length after each, until the check settles
or round_max_steps are spent. Prints each check's worst lengths and the steps it took.

    python bench/round_lr.py RUN --round 11 --lr 1e-3 --lr 3e-4
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from sector.config import Config
from sector.distributed import World
from sector.loop import decode_settings, held_out_agreement, rng_for, saved_data, self_train
from sector.rundir import RunDir, load_checkpoint
from sector.tasks import get_task
from sector.training import Trainer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--round", type=int, required=True)
    ap.add_argument("--lr", type=float, action="append", required=True)
    args = ap.parse_args()
    rundir = RunDir.open(args.run, writable=False)
    cfg = Config.from_saved(rundir.config)
    task, _ = get_task(cfg.task)
    rounds = {row["round"]: row for row in rundir.rows("progress.jsonl") if row.get("unit") == "round"}
    digits = rounds[args.round]["digits"]
    replay, holdout = saved_data(rundir, cfg, digits)
    new = replay.pop(digits)
    before = Path(args.run) / "checkpoints" / f"round_{args.round - 1:03d}"
    print(f"round {args.round} ({digits} digits) in the run: {rounds[args.round]['steps']} steps; checks "
          + " | ".join(_worst(c["agreement"]) for c in rounds[args.round]["checks"]), flush=True)
    for lr in args.lr:
        model = load_checkpoint(before)
        trainer = Trainer(model, replace(cfg.train, compile=False))
        trainer.step = rundir.state["trainer_step"]  # past warmup (the run's last step), so no warmup

        def check() -> dict[int, float]:
            return held_out_agreement(World(), model, holdout, decode_settings(cfg))

        t0 = time.perf_counter()
        stats = self_train(trainer, new, replay, replace(cfg, round_lr=lr), task, digits,
                           rng_for(cfg.seed, "train", args.round), check(), check)
        print(f"lr {lr:g}: {stats['steps']} steps, {time.perf_counter() - t0:.0f} s; checks "
              + " | ".join(_worst(c["agreement"]) for c in stats["checks"]), flush=True)


def _worst(agreement: dict[str, float], count: int = 2) -> str:
    return ", ".join(f"{d}: {a:.2f}" for d, a in sorted(agreement.items(), key=lambda kv: kv[1])[:count])


if __name__ == "__main__":
    main()
