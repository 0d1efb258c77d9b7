"""Whole runs side by side, one Markdown row each, from the records they left (a run
directory, or its copy under docs/): frontier, the run's clock, phase 1's share of it, the
minute by which 30 digits were trained, rounds, how many rounds accepted >= 0.80 of their
labels (and the lowest acceptance), wrong / accepted labels over all rounds and the worst
round's share (post hoc, from the error each round reported).

    python bench/runs_table.py docs/reach docs/runs/seed0_s22 ...
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from sector.report import unit_seconds
from sector.rundir import read_jsonl

TARGET_DIGITS = 30
ACCEPTANCE_TARGET = 0.80


def row(run: Path) -> str:
    summary = json.loads((run / "summary.json").read_text())
    config = json.loads((run / "config.json").read_text())
    progress = read_jsonl(run / "progress.jsonl")
    clock, phase1_s, reached_at = 0.0, 0.0, None
    rounds, wrong, accepted, worst_error = [], 0, 0, 0.0
    for p in progress:
        clock += unit_seconds(p)
        if p["unit"].startswith("phase1"):
            phase1_s += unit_seconds(p)
        if p["unit"] != "round" or p.get("stopped"):  # a stopped round: labels only, the one that ended the run
            continue
        rounds.append(p["acceptance"])
        n_accepted = round(p["acceptance"] * config["round_problems"] * len(p["lengths"]))
        error = p["label_error"]["label_accepted"] or 0.0
        wrong += round(error * n_accepted)
        accepted += n_accepted
        worst_error = max(worst_error, error)
        if reached_at is None and max(p["lengths"]) >= TARGET_DIGITS:
            reached_at = clock
    held = sum(a >= ACCEPTANCE_TARGET for a in rounds)
    return (f"| {run.name} | {config['seed']} | {summary['frontier']} | {summary['wall_s'] / 60:.1f} | "
            f"{phase1_s / 60:.1f} | {'-' if reached_at is None else f'{reached_at / 60:.1f}'} | {len(rounds)} | "
            f"{held} of {len(rounds)} (min {min(rounds, default=0):.3f}) | {wrong} / {accepted:,} "
            f"({worst_error:.3%}) |")


def main() -> None:
    print(f"| run | seed | frontier | min | phase 1 min | {TARGET_DIGITS} digits by min | rounds | "
          f"rounds >= {ACCEPTANCE_TARGET:.2f} accepted | wrong / accepted (worst round) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in sys.argv[1:]:
        print(row(Path(path)))


if __name__ == "__main__":
    main()
