"""A run's rounds as the Markdown table of docs/RESULTS.md, from its progress.jsonl and,
post hoc, its labels/round_*.eval.jsonl: acceptance (all, and on problems with both
operands at full length / with one written zero-padded), label error by method (FAST alone /
first S&G candidate / vote / vote + filters), filters fired, steps, time split (label /
train / check / eval, s), wrong / accepted, and the run's clock when each round ended.

    python bench/round_table.py RUN_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from sector.report import unit_seconds
from sector.rundir import read_jsonl
from sector.tasks import get_task


def main() -> None:
    run = Path(sys.argv[1])
    progress = read_jsonl(run / "progress.jsonl")
    clock = 0.0
    task, _ = get_task(json.loads((run / "config.json").read_text()).get("task", "addition"))
    print("| round | n | acceptance | equal / mixed | label error | filters fired | steps | time (s) | wrong / accepted | min |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in progress:
        clock += unit_seconds(row)
        if row["unit"] != "round" or row.get("stopped"):  # a stopped round kept no labels and trained nothing
            continue
        parts = [row[k] for k in ("label_s", "train_s", "check_s", "eval_s")]
        truth = read_jsonl(run / "labels" / f"round_{row['round']:03d}.eval.jsonl")
        accepted = [t for t in truth if t["accepted"]]
        problems = [task.parse_problem(t["problem"]) for t in truth]
        mixed = [p.is_mixed for p in problems]
        shapes = " / ".join(f"{sum(t['accepted'] for t, m in zip(truth, mixed) if m == want) / max(mixed.count(want), 1):.2f}"
                            for want in (False, True))
        wrong = sum(not t["label_correct"] for t in accepted)
        err = row["label_error"]
        errors = " / ".join(f"{err[k]:.3f}" for k in ("label_fast", "label_slow", "label_sng"))
        cut = " (cut)" if row.get("cut_by_budget") else ""
        print(f"| {row['round']} | {row['digits']} | {sum(row['acceptance_by_length'].values()) / len(row['acceptance_by_length']):.3f} | {shapes} | "
              f"{errors} / **{err['label_accepted']:.4f}** | {' / '.join(str(v) for v in row['filters'].values())} | "
              f"{row['steps']:,}{cut} | {' / '.join(f'{p:.0f}' for p in parts)} | {wrong} / {len(accepted)} | "
              f"{clock / 60:.1f} |")
    print(f"\nrounds' wrong / accepted in all: see bench/label_errors.py; clock after the last row: {clock / 60:.1f} min")


if __name__ == "__main__":
    main()
