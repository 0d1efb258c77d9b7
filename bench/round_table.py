"""What each round of a run cost and gave, as a Markdown table: acceptance (all, and where
the run directory still has its label files, on problems with both operands at full length
/ with one zero-padded), label error by method (FAST alone / first S&G candidate / vote /
vote + filters, post hoc), filters fired, training steps, the time split (label / train /
check / eval, s), wrong / accepted labels, and the run's clock when the round ended. Then,
for a run that sampled problem families, a second table: per family over all its rounds,
labels, acceptance, accepted and wrong labels, the error rate, and the round where that
family's rate was worst; and where the label files are there, which check stopped the
wrong majority labels of each family (`checks_table`): what the checks see of structure.
From progress.jsonl, metrics.jsonl and labels/round_*.jsonl.

    python bench/round_table.py RUN_DIR           # a run directory or its record under docs/runs

Results: docs/RESULTS.md, "The reference run" (per round) and "Whole runs on record" (round
cost against n).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from sector import get_task
from sector.report import accepted_label_truth, family_totals, unit_seconds
from sector.rundir import read_jsonl


def equal_mixed(run: Path, task, round_: int) -> str:
    """Acceptance on problems with both operands at full length / with one zero-padded, from
    the round's label file ("-" in a record, which keeps none)."""
    path = run / "labels" / f"round_{round_:03d}.jsonl"
    if not path.exists():
        return "-"
    labels = read_jsonl(path)
    mixed = [task.parse_problem(lab["problem"]).is_mixed for lab in labels]
    shares = [sum(lab["accepted"] for lab, m in zip(labels, mixed) if m == want) / max(mixed.count(want), 1)
              for want in (False, True)]
    return " / ".join(f"{s:.2f}" for s in shares)


def share(x: float | None, places: int) -> str:
    return "n/a" if x is None else f"{x:.{places}f}"  # None: no label to score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", metavar="RUN_DIR", help="a run directory (finished or not) or its record")
    run = Path(ap.parse_args().run)
    task, _ = get_task(json.loads((run / "config.json").read_text()).get("task", "addition"))
    truth = accepted_label_truth(read_jsonl(run / "metrics.jsonl"))
    clock = 0.0
    print("| round | n | acceptance | equal / mixed | label error | filters fired | steps | time (s) | "
          "wrong / accepted | min |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    progress = read_jsonl(run / "progress.jsonl")
    for row in progress:
        clock += unit_seconds(row)
        if row["unit"] != "round" or row.get("stopped"):  # a stopped round kept no labels and trained nothing
            continue
        parts = [row[k] for k in ("label_s", "train_s", "check_s", "eval_s")]
        err = row["label_error"]
        errors = " / ".join(share(err[k], 3) for k in ("label_fast", "label_slow", "label_sng"))
        acceptance = sum(row["acceptance_by_length"].values()) / len(row["acceptance_by_length"])
        wrong, accepted = truth.get(row["round"], (0, 0))
        cut = " (cut)" if row.get("cut_by_budget") else ""
        print(f"| {row['round']} | {row['digits']} | {acceptance:.3f} | {equal_mixed(run, task, row['round'])} | "
              f"{errors} / **{share(err['label_accepted'], 4)}** | "
              f"{' / '.join(str(v) for v in row['filters'].values())} | "
              f"{row['steps']:,}{cut} | {' / '.join(f'{p:.0f}' for p in parts)} | {wrong} / {accepted:,} | "
              f"{clock / 60:.1f} |")
    print(f"\nclock after the last row: {clock / 60:.1f} min")
    family_table([row for row in progress if row.get("by_family") and not row.get("stopped")])
    checks_table(run)


def checks_table(run: Path) -> None:
    """Per family, over every round whose label files the run directory holds: the majority
    labels that were wrong (post hoc), how many of them each check rejected, and how many it
    let through (accepted); and the right labels each check rejected beside them."""
    wrong: dict[str, dict[str, int]] = {}
    right_rejected: dict[str, dict[str, int]] = {}
    for path in sorted((run / "labels").glob("round_*.eval.jsonl")):
        labels = read_jsonl(path.with_name(path.name.replace(".eval", "")))
        for lab, truth in zip(labels, read_jsonl(path)):
            verdict, right = lab["reason"] or "accepted", lab["label"] == truth["truth"]
            if lab["label"] is None or (right and verdict == "accepted"):
                continue
            counts = (right_rejected if right else wrong).setdefault(truth["family"], {})
            counts[verdict] = counts.get(verdict, 0) + 1
    if not wrong and not right_rejected:
        return
    verdicts = sorted({v for c in (*wrong.values(), *right_rejected.values()) for v in c} - {"accepted"}) + ["accepted"]
    print("\nWrong majority labels by family and the check that stopped them (right labels rejected beside them):\n")
    print("| family | wrong | " + " | ".join(verdicts) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in verdicts) + " |")
    for family in sorted(set(wrong) | set(right_rejected)):
        w, r = wrong.get(family, {}), right_rejected.get(family, {})
        cells = [f"{w.get(v, 0)}" + (f" ({r.get(v, 0)})" if v != "accepted" else "") for v in verdicts]
        print(f"| {family} | {sum(w.values())} | " + " | ".join(cells) + " |")


def family_table(rounds: list[dict]) -> None:
    """Per problem family over `rounds` (progress rows with `by_family`): what was labelled,
    accepted and accepted wrongly, and the round with the family's worst error rate."""
    if not rounds:
        return
    print("\n| family | labels | acceptance | accepted | wrong | error | worst round (wrong / accepted) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for family, total in family_totals(rounds).items():
        counts = [(row["round"], row["by_family"].get(family, {})) for row in rounds]
        labels, accepted, wrong = total["labels"], total["accepted"], total["accepted_wrong"]
        worst_round, worst = max(counts, key=lambda rc: rc[1].get("accepted_wrong", 0) / max(rc[1].get("accepted", 0), 1))
        where = f"{worst_round} ({worst['accepted_wrong']} / {worst['accepted']})" if wrong else "-"
        print(f"| {family} | {labels:,} | {accepted / max(labels, 1):.3f} | {accepted:,} | {wrong} | "
              f"{wrong / max(accepted, 1):.4%} | {where} |")


if __name__ == "__main__":
    main()
