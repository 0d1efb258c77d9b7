"""Start a run directory from another run's finished phase 1, to try a change to the rounds
on the same phase-1 model and data (phase 1 is seeded, and took 11-22 minutes on 2 cores in
the recorded runs).

Copies the source's config (with --set overrides), its phase-1 pools and held-out problems,
its phase-1 checkpoint (after the bridge, where it had one) and its phase-1 rows, and writes
a state.json saying "phase 1 done" at the source's phase-1 wall time. Only the newest
checkpoint of a run keeps optimizer moments, so the fork starts its rounds with a fresh
AdamW. Then `sector run --resume DEST` runs the rounds (bench/ablations.sh does both).

    python bench/fork_after_phase1.py SOURCE_RUN DEST [--set KEY=VALUE ...]
    python bench/fork_after_phase1.py runs/default runs/nocheck --set rounds.filters=[]

The source must be a run directory with nested config keys (`rounds.filters`, as every run
since ce52134 writes) that still has its checkpoints/phase1. Results: docs/RESULTS.md, "The reviewers' ablations" and
"Partial and forked runs".
"""
from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from sector import Config, RunError, load_model, prompt_format_of
from sector.config import parse_setting
from sector.experiment import RunState
from sector.rundir import RunDir
from sector.training import Trainer


def fork(src: Path, dest: Path, settings: list[str]) -> RunState:
    """DEST made from SOURCE's phase 1 with `settings` (KEY=VALUE) applied; its state."""
    source = RunDir.open(src, writable=False)
    try:
        cfg = Config.from_dict(source.config)
        cfg.update(dict(parse_setting(cfg, text) for text in settings))
        cfg.validate()
    except ValueError as e:
        raise RunError(f"{src}/config.json with {settings}: {e}") from None
    model = load_model(src / "checkpoints" / "phase1")
    if prompt_format_of(model) != cfg.prompt_format:
        raise RunError(f"{src}'s phase-1 model reads {prompt_format_of(model)} prompts, not {cfg.prompt_format}")
    digits = range(1, cfg.phase1.digits + 1)
    names = [f"{kind}_len{d:02d}.jsonl" for d in digits for kind in ("phase1", "holdout")]
    missing = [name for name in names if not (src / "data" / name).is_file()]
    if missing:
        raise RunError(f"{src}/data lacks {', '.join(missing)}")
    run = RunDir.create(dest, cfg.to_dict())
    (dest / "data").mkdir()
    for name in names:
        shutil.copy(src / "data" / name, dest / "data")
    metrics = [r for r in source.rows("metrics.jsonl") if r["phase"] == "phase1"]
    progress = [r for r in source.rows("progress.jsonl") if r["unit"].startswith("phase1")]
    run.write_rows("metrics.jsonl", metrics)
    run.write_rows("progress.jsonl", progress)
    done = source.state
    # Every phase-1 unit's own wall time, its evaluation included (the checkpoint writes
    # between units are not in the rows, so this is a few seconds short of the run's clock).
    state = RunState(phase1_done=True, stage_length=cfg.phase1.digits, phase1_steps=done["phase1_steps"],
                     phase1_checks=done["phase1_checks"], gate_met=done["gate_met"], bridged=done["bridged"],
                     frontier=cfg.phase1.digits, metrics_rows=len(metrics), progress_rows=len(progress),
                     trainer_step=done["phase1_steps"], wall_s=sum(r["wall_s"] for r in progress))
    run.save_checkpoint("phase1", model, Trainer(model, cfg.train).optimizer, asdict(state))
    return state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", metavar="SOURCE_RUN", help="a run directory whose phase 1 is done")
    ap.add_argument("dest", metavar="DEST", help="the new run directory (must not hold files)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config setting of the fork (`sector config` lists them), e.g. rounds.sng_k=3")
    args = ap.parse_args()
    try:
        state = fork(Path(args.source), Path(args.dest), args.set)
    except RunError as e:
        sys.exit(f"fork_after_phase1: {e}")
    print(f"{args.dest}: phase 1 of {args.source} ({state.phase1_steps} steps, wall {state.wall_s / 60:.1f} min); "
          f"now: sector run --resume {args.dest}")


if __name__ == "__main__":
    main()
