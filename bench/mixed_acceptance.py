"""Post hoc, from a run's label files: how its rounds accepted mixed-length problems, by the
length of the zero run in the shorter operand, and which filters rejected them. Reads
RUN/labels/round_NNN.jsonl (what the loop decided); decides nothing in the run.

    python bench/mixed_acceptance.py docs/runs/gpu_h200_s23 13 24 19 27
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from sector.rundir import read_jsonl
from sector.tasks import get_task

BINS = (("run <= 3", 0, 3), ("run 4-9", 4, 9), ("run >= 10", 10, 10**9))


def zero_run(problem) -> int:
    """Leading zeros of the zero-padded operand."""
    padded = problem.a if problem.a.startswith("0") else problem.b
    return len(padded) - len(padded.lstrip("0"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("rounds", type=int, nargs="+")
    args = ap.parse_args()
    task, _ = get_task(json.loads((args.run / "config.json").read_text()).get("task", "addition"))
    print("| round (n) | " + " | ".join(name for name, _, _ in BINS) + " | rejected mixed, by filter |")
    print("| --- |" + " --- |" * (len(BINS) + 1))
    for r in args.rounds:
        rows = read_jsonl(args.run / "labels" / f"round_{r:03d}.jsonl")
        mixed = [(task.parse_problem(x["problem"]), x) for x in rows]
        mixed = [(p, x) for p, x in mixed if p.is_mixed]
        cells = []
        for _, lo, hi in BINS:
            inside = [x for p, x in mixed if lo <= zero_run(p) <= hi]
            cells.append(f"{sum(x['accepted'] for x in inside)}/{len(inside)}")
        reasons = Counter(x["reason"] for _, x in mixed if not x["accepted"])
        n = mixed[0][0].digits if mixed else "?"
        print(f"| {r} ({n}) | " + " | ".join(cells) + " | "
              + ", ".join(f"{k} {v}" for k, v in reasons.most_common()) + " |")


if __name__ == "__main__":
    main()
