"""Post hoc, from a run's label files: which accepted self-labels were wrong, what their
votes looked like, and what a stricter vote would have cost. Reads
RUN/labels/round_*.jsonl (what the model said) beside round_*.eval.jsonl (the truth,
written by the evaluator); decides nothing in the run.

Per round: accepted labels, wrong accepted, and of the accepted ones those whose asked
candidates all agreed ("unanimous"). The stricter rule "reject a label unless every
candidate asked agrees with it" is scored by the wrong labels it would remove and the
right ones it would lose. Then each wrong accepted label: its candidates, and the column
(counted from the ones) where it first differs from the truth.

    python bench/label_errors.py RUN_DIR
"""
from __future__ import annotations

import sys
from pathlib import Path

from sector.rundir import read_jsonl


def first_wrong_column(label: str, truth: str) -> int:
    """The lowest column (0 = ones) where `label` and `truth` differ."""
    a, b = label[::-1], truth[::-1]
    return next((i for i in range(max(len(a), len(b))) if a[i:i + 1] != b[i:i + 1]), -1)


def main() -> None:
    run = Path(sys.argv[1])
    total = {"accepted": 0, "wrong": 0, "dissent": 0, "dissent_wrong": 0}
    wrong_rows = []
    print("| round | n | accepted | wrong accepted | error | accepted with dissent | of them wrong |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for labels_file in sorted((run / "labels").glob("round_*[0-9].jsonl")):
        truth_file = labels_file.with_name(labels_file.stem + ".eval.jsonl")
        labels, truths = read_jsonl(labels_file), read_jsonl(truth_file)
        digits = max(len(lab["problem"].split("+")[0]) for lab in labels)
        accepted = [(lab, t) for lab, t in zip(labels, truths) if lab["accepted"]]
        wrong = [(lab, t) for lab, t in accepted if not t["label_correct"]]
        dissent = [(lab, t) for lab, t in accepted if any(c != lab["label"] for c in lab["candidates"])]
        dissent_wrong = [x for x in dissent if not x[1]["label_correct"]]
        for key, group in (("accepted", accepted), ("wrong", wrong), ("dissent", dissent),
                           ("dissent_wrong", dissent_wrong)):
            total[key] += len(group)
        print(f"| {labels_file.stem[6:]} | {digits} | {len(accepted)} | {len(wrong)} | "
              f"{len(wrong) / max(len(accepted), 1):.2%} | {len(dissent)} | {len(dissent_wrong)} |")
        wrong_rows += [(labels_file.stem[6:], lab, t) for lab, t in wrong]
    print(f"\nall rounds: {total['wrong']} wrong of {total['accepted']} accepted; a unanimous vote would "
          f"remove {total['dissent_wrong']} of the wrong and {total['dissent'] - total['dissent_wrong']} right labels")
    print("\n| round | problem | truth | label | candidates | first wrong column |")
    print("| --- | --- | --- | --- | --- | --- |")
    for round_, lab, t in wrong_rows:
        print(f"| {round_} | {lab['problem']} | {t['truth']} | {lab['label']} | "
              f"{' '.join(str(c) for c in lab['candidates'])} | {first_wrong_column(lab['label'], t['truth'])} |")


if __name__ == "__main__":
    main()
