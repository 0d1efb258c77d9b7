"""Whole runs side by side, one Markdown row each, from the records they left (a run
directory, or its record under docs/runs): seed, frontier, the run's clock, phase 1's share
of it, the minute by which 30 digits were trained, rounds, how many rounds accepted >= 0.80
of their labels (and the lowest acceptance), and wrong / accepted labels over all rounds
with the worst round's share (post hoc, from the label error each round recorded in
metrics.jsonl).

    python bench/runs_table.py docs/runs/reference docs/runs/xeon_seed1_bridge ...

Results: docs/RESULTS.md, "Whole runs on record".
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from sector.report import accepted_label_truth, unit_seconds
from sector.rundir import read_jsonl

TARGET_DIGITS = 30
ACCEPTANCE_TARGET = 0.80


def row(run: Path) -> str:
    summary = json.loads((run / "summary.json").read_text())
    config = json.loads((run / "config.json").read_text())
    accepted_truth = accepted_label_truth(read_jsonl(run / "metrics.jsonl"))
    clock, phase1_s, reached_at = 0.0, 0.0, None
    rounds, wrong, accepted, worst_error = [], 0, 0, 0.0
    for p in read_jsonl(run / "progress.jsonl"):
        clock += unit_seconds(p)
        if p["unit"].startswith("phase1"):
            phase1_s += unit_seconds(p)
        if p["unit"] != "round" or p.get("stopped"):  # a stopped round: labels only, the one that ended the run
            continue
        rounds.append(p["acceptance"])
        bad, n = accepted_truth.get(p["round"], (0, 0))
        wrong, accepted = wrong + bad, accepted + n
        worst_error = max(worst_error, bad / max(n, 1))
        if reached_at is None and max(p["lengths"]) >= TARGET_DIGITS:
            reached_at = clock
    held = sum(a >= ACCEPTANCE_TARGET for a in rounds)
    return (f"| {run.name} | {config['seed']} | {summary['frontier']} | {summary['wall_s'] / 60:.1f} | "
            f"{phase1_s / 60:.1f} | {'-' if reached_at is None else f'{reached_at / 60:.1f}'} | {len(rounds)} | "
            f"{held} of {len(rounds)} (min {min(rounds, default=0):.3f}) | {wrong} / {accepted:,} "
            f"({worst_error:.3%}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="RUN_DIR", help="finished run directories or their records")
    args = ap.parse_args()
    print(f"| run | seed | frontier | min | phase 1 min | {TARGET_DIGITS} digits by min | rounds | "
          f"rounds >= {ACCEPTANCE_TARGET:.2f} accepted | wrong / accepted (worst round) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in args.runs:
        print(row(Path(path)))


if __name__ == "__main__":
    main()
