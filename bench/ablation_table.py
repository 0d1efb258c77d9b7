"""Arms of an ablation side by side (run directories forked from one phase 1, as
bench/ablations.sh makes them): what each labelled with, how many rounds it ran, how often
its labels were accepted (a round that stopped the run included), how many accepted labels
were wrong (post hoc, from each round's labels/round_*.eval.jsonl), and then the final FAST
accuracy of every arm at each length.

    python bench/ablation_table.py /work/runs/abl27/control /work/runs/abl27/nocheck ...
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from sector.report import unit_seconds
from sector.rundir import read_jsonl


def arm_row(run: Path) -> tuple[str, dict[int, float]]:
    """The arm's Markdown row, and its final FAST accuracy by length."""
    config = json.loads((run / "config.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    every = [p for p in read_jsonl(run / "progress.jsonl") if p["unit"] == "round"]
    rounds = [p for p in every if not p.get("stopped")]  # a stopped round kept no labels and trained nothing
    round_min = sum(unit_seconds(p) for p in rounds) / 60
    wrong = accepted = 0
    worst = 0.0
    for p in rounds:
        truth = [t for t in read_jsonl(run / "labels" / f"round_{p['round']:03d}.eval.jsonl") if t["accepted"]]
        bad = sum(not t["label_correct"] for t in truth)
        wrong, accepted = wrong + bad, accepted + len(truth)
        worst = max(worst, bad / max(len(truth), 1))
    acceptance = [a for p in every for a in p["acceptance_by_length"].values()]
    lengths = [d for p in rounds for d in p["lengths"]]
    labeller = config["labeller"] + (f" K={config['sng_k']}" if config["labeller"] == "sng" else "")
    final = {r["digits"]: r["accuracy"] for r in read_jsonl(run / "metrics.jsonl")
             if r["phase"] == "final" and r["mode"] == "fast"}
    row = (f"| {run.name} | {labeller} | {' + '.join(config['filters']) or 'none'} | {len(rounds)} | "
           f"{f'{min(lengths)}..{max(lengths)}' if lengths else 'none'} | "
           f"{min(acceptance, default=0):.3f}-{max(acceptance, default=0):.3f} | "
           f"{wrong:,} / {accepted:,} ({wrong / max(accepted, 1):.2%}; worst round {worst:.2%}) | "
           f"{summary['frontier']} | {round_min:.1f} | {summary['stop_reason']} |")
    return row, final


def main() -> None:
    runs = [Path(p) for p in sys.argv[1:]]
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
