"""Post hoc, on a run's own labels: what the split check (`labelling.SplitCheck`) would have
done in each round. For round r it loads the model that labelled it (the checkpoint after
round r-1, or after phase 1), runs the check on the round's accepted labels, and counts,
with the truth from labels/round_*.eval.jsonl, the wrong labels it rejects and the right
ones it rejects.

    python bench/split_check.py RUN_DIR
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from sector.labelling import Label, SplitCheck
from sector.rundir import load_checkpoint, read_jsonl
from sector.tasks import get_task


def main() -> None:
    run = Path(sys.argv[1])
    task, _ = get_task("addition")
    check = SplitCheck(decode_kw={"batch_size": 512})
    totals = [0, 0, 0, 0]
    print("| round | n | accepted | wrong | wrong rejected | right rejected | s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for labels_file in sorted((run / "labels").glob("round_*[0-9].jsonl")):
        r = int(labels_file.stem[6:])
        before = run / "checkpoints" / (f"round_{r - 1:03d}" if r > 1 else "phase1")
        model = load_checkpoint(before).eval()
        truth = read_jsonl(labels_file.with_name(labels_file.stem + ".eval.jsonl"))
        accepted = [(lab, t) for lab, t in zip(read_jsonl(labels_file), truth) if lab["accepted"]]
        labels = [Label(task.parse_problem(lab["problem"]), int(lab["label"]), [], None, lab["votes"])
                  for lab, _ in accepted]
        t0 = time.perf_counter()
        reasons = check(model, task, None, labels)
        seconds = time.perf_counter() - t0
        wrong = [not t["label_correct"] for _, t in accepted]
        counts = [len(labels), sum(wrong), sum(w and x is not None for w, x in zip(wrong, reasons)),
                  sum(not w and x is not None for w, x in zip(wrong, reasons))]
        totals = [a + b for a, b in zip(totals, counts)]
        print(f"| {r} | {labels[0].problem.digits} | {' | '.join(map(str, counts))} | {seconds:.1f} |", flush=True)
    print(f"\nall rounds: {totals[0]} accepted, {totals[1]} wrong; the split check rejects {totals[2]} of the wrong "
          f"and {totals[3]} right ({totals[3] / max(totals[0], 1):.2%})")


if __name__ == "__main__":
    main()
