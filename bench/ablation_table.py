"""Arms of an ablation side by side (run directories forked from one phase 1, as
bench/ablations.sh makes them, or their records under docs/runs/ablations): what each
labelled with, how many rounds it ran, how often its labels were accepted (a round that
stopped the run included), how many accepted labels were wrong (post hoc, from the label
error each round recorded in metrics.jsonl), the frontier, its minutes of rounds and why it
stopped; then the final FAST accuracy of every arm at each length. Markdown, on stdout.

    python bench/ablation_table.py OUT/control OUT/nocheck ...
    python bench/ablation_table.py docs/runs/ablations/{control,nocheck,k3,k1,fast,fast_nostop,fast_nocheck,oneshot}

Results: docs/RESULTS.md, "The reviewers' ablations".
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from sector.report import accepted_label_truth, unit_seconds
from sector.rundir import read_jsonl


def setting(config: dict, key: str):
    """The dotted `key` of a run's config.json: nested (`rounds.labeller`) since commit
    ce52134, flat under its last part (`labeller`) in the runs recorded before it."""
    section, _, name = key.rpartition(".")
    return config[section][name] if section in config else config[name]


def arm_row(run: Path) -> tuple[str, dict[int, float]]:
    """The arm's Markdown row, and its final FAST accuracy by length."""
    config = json.loads((run / "config.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    metrics = read_jsonl(run / "metrics.jsonl")
    truth = accepted_label_truth(metrics)
    every = [p for p in read_jsonl(run / "progress.jsonl") if p["unit"] == "round"]
    rounds = [p for p in every if not p.get("stopped")]  # a stopped round kept no labels and trained nothing
    round_min = sum(unit_seconds(p) for p in rounds) / 60
    wrong = accepted = 0
    worst = 0.0
    for p in rounds:
        bad, n = truth.get(p["round"], (0, 0))
        wrong, accepted = wrong + bad, accepted + n
        worst = max(worst, bad / max(n, 1))
    acceptance = [a for p in every for a in p["acceptance_by_length"].values()]
    lengths = [d for p in rounds for d in p["lengths"]]
    labeller = setting(config, "rounds.labeller")
    labeller += f" K={setting(config, 'rounds.sng_k')}" if labeller == "sng" else ""
    final = {r["digits"]: r["accuracy"] for r in metrics if r["phase"] == "final" and r["mode"] == "fast"}
    row = (f"| {run.name} | {labeller} | {' + '.join(setting(config, 'rounds.filters')) or 'none'} | {len(rounds)} | "
           f"{f'{min(lengths)}..{max(lengths)}' if lengths else 'none'} | "
           f"{min(acceptance, default=0):.3f}-{max(acceptance, default=0):.3f} | "
           f"{wrong:,} / {accepted:,} ({wrong / max(accepted, 1):.2%}; worst round {worst:.2%}) | "
           f"{summary['frontier']} | {round_min:.1f} | {summary['stop_reason']} |")
    return row, final


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="RUN_DIR", help="one finished run directory (or record) per arm")
    runs = [Path(p) for p in ap.parse_args().runs]
    rows = [arm_row(run) for run in runs]
    print("| arm | labeller | filters | rounds | lengths labelled | acceptance by length | "
          "wrong / accepted labels | frontier | round minutes | stop |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row, _ in rows:
        print(row)
    lengths = sorted({d for _, final in rows for d in final})
    print("\nFinal FAST accuracy by length:\n")
    print("| digits | " + " | ".join(run.name for run in runs) + " |")
    print("| --- |" + " --- |" * len(runs))
    for d in lengths:
        print(f"| {d} | " + " | ".join(f"{final[d]:.3f}" if d in final else "-" for _, final in rows) + " |")


if __name__ == "__main__":
    main()
