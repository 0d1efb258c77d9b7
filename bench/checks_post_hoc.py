"""Post hoc: would the twin and split checks (or any filters named by --checks) have caught
a round's wrong labels? For a run that labelled without them (the no-check arms), or for a
new check on the labels that a run's own checks let through. Takes the round's accepted
labels as the run stored them (labels/round_NNN.jsonl), runs the filters (the commutativity
and split ones by default) on them with the checkpoint that labelled them (the run's
labeller labels the twins; decoding in float32), and scores both sides against the run's
labels/round_NNN.eval.jsonl. Ground truth only scores; nothing is trained or written. It
needs the run directory's label files and checkpoints (run records under docs/runs keep
neither), of a run made by this version.

    python bench/checks_post_hoc.py RUN_DIR ROUND LABELLING_CHECKPOINT
    python bench/checks_post_hoc.py runs/nocheck 11 round_010
    python bench/checks_post_hoc.py runs/s1 10 round_009 --checks pieces

Results: docs/RESULTS.md, "No checks over a whole run" and "A check for the top columns".
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from sector import FILTERS, Config, Label, get_task, load_model, prompt_format_of
from sector.labelling import apply_filters, labelling_from_config
from sector.rundir import read_jsonl

CHECKS = ("commutativity", "split")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", metavar="RUN_DIR", help="the run directory, with its label files and checkpoints")
    ap.add_argument("round", type=int, metavar="ROUND", help="the round whose labels to check")
    ap.add_argument("checkpoint", metavar="LABELLING_CHECKPOINT",
                    help="the checkpoint (under RUN_DIR/checkpoints) that labelled them: the one before ROUND")
    ap.add_argument("--checks", nargs="+", default=list(CHECKS), choices=list(FILTERS), metavar="NAME",
                    help=f"filters (names in sector.FILTERS) to run, in order (default: {' '.join(CHECKS)})")
    args = ap.parse_args()
    run = Path(args.run)
    config = Config.from_dict(json.loads((run / "config.json").read_text()))
    rounds = config.rounds
    model = load_model(run / "checkpoints" / args.checkpoint).eval()
    task, _ = get_task(config.task, prompt_format_of(model))
    rows = read_jsonl(run / "labels" / f"round_{args.round:03d}.jsonl")
    truth = read_jsonl(run / "labels" / f"round_{args.round:03d}.eval.jsonl")
    kept = [(row, t["label_correct"]) for row, t in zip(rows, truth) if row["accepted"]]
    labels = [Label(task.parse_problem(row["problem"]), int(row["label"]), [], None, row["votes"]) for row, _ in kept]
    labeller, filters = labelling_from_config(replace(rounds, filters=tuple(args.checks)), {})
    t0 = time.perf_counter()
    fired = apply_filters(model, task, labeller, filters, labels)
    right = [r for _, r in kept]
    rejected_wrong = sum(not lab.accepted and not r for lab, r in zip(labels, right))
    rejected_right = sum(not lab.accepted and r for lab, r in zip(labels, right))
    print(f"round {args.round}: {len(labels)} accepted, {right.count(False)} wrong; fired {fired}; "
          f"rejects {rejected_wrong} of the wrong and {rejected_right} right labels "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
