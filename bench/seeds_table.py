"""Seeds of one preset side by side, with their mean and spread: the strict frontier (every
problem family) and the uniform frontier (the paper's measure), the worst suite inside the frontier and what
broke it at the next length, how far the rounds trained, and the wrong accepted labels
(post hoc) over the run and in the worst round and family. Reads the records a run leaves
(a run directory, or its record under docs/runs).

    python bench/seeds_table.py docs/runs/columns_families_s0 docs/runs/columns_families_s1 ...

Results: docs/RESULTS.md, "The default preset with the pieces check" and "Three seeds of the default
preset before `pieces`".
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from sector.evaluate import FAMILY_FLOOR, FRONTIER_ACCURACY
from sector.report import family_totals
from sector.rundir import read_jsonl


def first_miss(run: Path, strict: int) -> str:
    """What broke the strict frontier at length strict + 1: uniform problems below
    FRONTIER_ACCURACY, the structured suites pooled below it, or one family below FAMILY_FLOOR."""
    cells = {m.get("suite", "uniform"): m for m in read_jsonl(run / "metrics.jsonl")
             if m["phase"] == "final" and m["mode"] == "fast" and m["digits"] == strict + 1}
    if "uniform" not in cells:
        return "-"
    structured = [m for suite, m in cells.items() if suite != "uniform"]
    pooled = sum(m["correct"] for m in structured) / max(1, sum(m["n"] for m in structured))
    weakest = min(structured, key=lambda m: m["accuracy"])
    misses = [f"uniform {cells['uniform']['accuracy']:.3f}"] if cells["uniform"]["accuracy"] < FRONTIER_ACCURACY else []
    if pooled < FRONTIER_ACCURACY:
        misses.append(f"pooled {pooled:.3f}")
    if weakest["accuracy"] < FAMILY_FLOOR or pooled < FRONTIER_ACCURACY:
        misses.append(f"{weakest['suite']} {weakest['accuracy']:.3f}")
    return f"{', '.join(misses)} at {strict + 1}"


def record(run: Path) -> dict:
    """The figures of one run that the table shows."""
    summary = json.loads((run / "summary.json").read_text())
    config = json.loads((run / "config.json").read_text())
    rounds = [p for p in read_jsonl(run / "progress.jsonl")
              if p["unit"] == "round" and p.get("by_family") and not p.get("stopped")]
    per_round = [(sum(f["accepted_wrong"] for f in p["by_family"].values()),
                  sum(f["accepted"] for f in p["by_family"].values())) for p in rounds]
    wrong, accepted = sum(w for w, _ in per_round), sum(a for _, a in per_round)
    worst_round = max((w / max(a, 1) for w, a in per_round), default=0.0)
    name, family = max(family_totals(rounds).items(), key=lambda kv: kv[1]["accepted_wrong"] / max(kv[1]["accepted"], 1),
                       default=("-", {"accepted": 0, "accepted_wrong": 0}))
    worst = summary.get("worst_suite")
    return {"run": run.name, "seed": config["seed"], "strict": summary["strict_frontier"],
            "uniform": summary["frontier"],
            "worst_suite": f"{worst['suite']} {worst['accuracy']:.3f} at {worst['digits']}" if worst else "-",
            "first_miss": first_miss(run, summary["strict_frontier"]),
            "trained_to": summary["trained_to"], "minutes": summary["wall_s"] / 60, "wrong": wrong,
            "accepted": accepted, "worst_round": worst_round,
            "worst_family": (f"{name} {family['accepted_wrong'] / family['accepted']:.3%}" if family["accepted_wrong"]
                             else "none")}


def spread(values: list[float]) -> str:
    """Mean, standard deviation and range of `values`."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {sd:.1f} ({min(values):g}-{max(values):g})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="RUN_DIR", help="finished run directories or their records")
    args = ap.parse_args()
    rows = [record(Path(path)) for path in args.runs]
    print("| run | seed | strict frontier | uniform frontier | worst suite | first miss past it | trained to | min | "
          "wrong / accepted | worst round | worst family |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['run']} | {r['seed']} | {r['strict']} | {r['uniform']} | {r['worst_suite']} | {r['first_miss']} | {r['trained_to']} | "
              f"{r['minutes']:.1f} | {r['wrong']} / {r['accepted']:,} | {r['worst_round']:.3%} | {r['worst_family']} |")
    wrong_rate = [100 * r["wrong"] / max(r["accepted"], 1) for r in rows]
    print(f"| mean ± sd (range) | | {spread([r['strict'] for r in rows])} | {spread([r['uniform'] for r in rows])} | "
          f"| | {spread([r['trained_to'] for r in rows])} | {spread([round(r['minutes'], 1) for r in rows])} | "
          f"{statistics.mean(wrong_rate):.3f}% | | |")


if __name__ == "__main__":
    main()
