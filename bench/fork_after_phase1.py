"""Start a run directory from another run's finished phase 1, to try a change to the rounds
on the same phase-1 model and data (phase 1 is seeded, and takes 20-70 minutes on 2 cores).

Copies the source's config (with --set overrides), its phase-1 pools and held-out problems
(written afresh, with the same function and seed a new run's phase 1 uses, for runs made
before `check_supervised`), its phase-1 checkpoint (after the bridge, where it had one) and
its phase-1 rows, and a state.json saying "phase 1 done" at the source's phase-1 wall
time. Only the newest checkpoint of a run keeps optimizer moments, so the fork starts its rounds with a fresh
AdamW. Then `sector run --resume DEST`.

    python bench/fork_after_phase1.py SOURCE_RUN DEST [--set KEY=VALUE ...]
"""
from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import torch

from sector.config import Config, apply_settings, parse_setting
from sector.loop import LoopState, rng_for, supervised_holdout
from sector.rundir import RunDir, load_checkpoint
from sector.tasks import get_task
from sector.training import TrainConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("dest")
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()
    src, dest = Path(args.source), Path(args.dest)
    cfg = Config.from_saved(json.loads((src / "config.json").read_text()))
    apply_settings(cfg, dict(parse_setting(text) for text in args.set))
    cfg.validate()
    run = RunDir.create(str(dest), cfg.to_dict())
    task, oracle = get_task(cfg.task)
    (dest / "data").mkdir(exist_ok=True)
    for d in range(1, cfg.supervised_digits + 1):
        shutil.copy(src / "data" / f"phase1_len{d:02d}.jsonl", dest / "data")
        if (src / "data" / f"holdout_len{d:02d}.jsonl").exists():
            shutil.copy(src / "data" / f"holdout_len{d:02d}.jsonl", dest / "data")
            continue
        run.write_examples(f"holdout_len{d:02d}", supervised_holdout(
            task, oracle, rng_for(cfg.seed, "phase1-holdout", d), d, cfg.holdout_labels, cfg.mixed_share))
    metrics = [r for r in map(json.loads, (src / "metrics.jsonl").read_text().splitlines()) if r["phase"] == "phase1"]
    progress = [r for r in map(json.loads, (src / "progress.jsonl").read_text().splitlines())
                if r["unit"].startswith("phase1")]
    run.append_rows("metrics.jsonl", metrics)
    run.append_rows("progress.jsonl", progress)
    src_state = json.loads((src / "state.json").read_text())
    # Every phase-1 unit's own wall time, its evaluation included (checkpoint writes between
    # units are not in the rows: reach11's clock said 4,175 s where its rows sum to 4,166).
    phase1_wall = sum(r["wall_s"] for r in progress)
    state = LoopState(phase1_done=True, stage_length=cfg.supervised_digits, phase1_steps=src_state["phase1_steps"],
                      phase1_checks=src_state["phase1_checks"], gate_met=src_state["gate_met"],
                      bridged=src_state.get("bridged", False),
                      frontier=cfg.supervised_digits, metrics_rows=len(metrics), progress_rows=len(progress),
                      trainer_step=src_state["phase1_steps"], wall_s=phase1_wall)
    model = load_checkpoint(src / "checkpoints" / "phase1")
    optimizer = torch.optim.AdamW(model.parameters(), lr=TrainConfig.lr)
    run.save_checkpoint("phase1", model, optimizer, asdict(state))
    print(f"{dest}: phase 1 of {src} ({state.phase1_steps} steps, wall {state.wall_s / 60:.1f} min); "
          f"now: sector run --resume {dest}")


if __name__ == "__main__":
    main()
