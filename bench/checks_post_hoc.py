"""Post hoc: would the twin and split checks have caught a round's wrong labels? For a run
that labelled without them (session 28's no-check arm). Takes the round's accepted labels
as the run stored them, runs the commutativity and split filters with the checkpoint that
labelled them (decoding in float32), and scores both sides against the run's
round_*.eval.jsonl. Ground truth only scores; nothing is trained or written.

    python bench/checks_post_hoc.py RUN_DIR ROUND LABELLING_CHECKPOINT
    python bench/checks_post_hoc.py /work/runs/nocheck28s1 011 round_010
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sector.config import Config
from sector.labelling import FILTERS, LABELLERS, Label, apply_filters
from sector.rundir import load_checkpoint, read_jsonl
from sector.tasks import get_task


def main() -> None:
    run, round_, checkpoint = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    cfg = Config.from_saved(json.loads((run / "config.json").read_text()))
    task, _ = get_task(cfg.task)
    model = load_checkpoint(run / "checkpoints" / checkpoint).eval()
    rows = read_jsonl(run / "labels" / f"round_{round_}.jsonl")
    truth = read_jsonl(run / "labels" / f"round_{round_}.eval.jsonl")
    kept = [(row, t["label_correct"]) for row, t in zip(rows, truth) if row["accepted"]]
    labels = [Label(task.parse_problem(row["problem"]), int(row["label"]), [], None, row["votes"]) for row, _ in kept]
    # The run's own labeller (the twin is labelled with it) and the default preset's filters.
    labeller = LABELLERS[cfg.labeller](cfg, {})
    t0 = time.perf_counter()
    fired = apply_filters(model, task, labeller, [FILTERS[name]({}) for name in ("commutativity", "split")], labels)
    right = [r for _, r in kept]
    rejected_wrong = sum(not lab.accepted and not r for lab, r in zip(labels, right))
    rejected_right = sum(not lab.accepted and r for lab, r in zip(labels, right))
    print(f"round {round_}: {len(labels)} accepted, {right.count(False)} wrong; fired {fired}; "
          f"rejects {rejected_wrong} of the wrong and {rejected_right} right labels "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
