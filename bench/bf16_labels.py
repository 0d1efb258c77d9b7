"""Decoding in bfloat16 (`decode_precision=bf16`: a bf16 copy of the weights) against float32, round
by round of a finished run: each chosen round's labels made again from the checkpoint the
round started from, on the same problems the run labelled (its own seed, count, mixed share,
labeller and filters), once in each precision; and the held-out check on that checkpoint
(FAST against the run's held-out self-labels, every length so far). Reports how many labels
and verdicts agree, the accepted labels that are wrong (post hoc, with the answer function),
the agreement each check reads, and the labelling time of each, measured side by side.

    python bench/bf16_labels.py RUN_DIR --rounds 1 10 20 30 [--problems N]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from sector.config import Config
from sector.distributed import World
from sector.loop import (decode_settings, held_out_agreement, make_filters, make_labeller, rng_for, saved_data,
                         self_label)
from sector.rundir import RunDir, load_checkpoint
from sector.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--rounds", type=int, nargs="+", required=True)
    ap.add_argument("--problems", type=int, help="problems a round (default: the run's round_problems)")
    args = ap.parse_args()
    rundir = RunDir.open(args.run, writable=False)
    base = Config.from_saved(rundir.config)
    task, oracle = get_task(base.task)
    rounds = {row["round"]: row for row in rundir.rows("progress.jsonl") if row.get("unit") == "round"}
    print("| round | n | same label and verdict | accepted fp32 / bf16 | wrong accepted fp32 / bf16 "
          "| worst held-out agreement fp32 / bf16 | labelling s fp32 / bf16 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in args.rounds:
        digits = rounds[r]["digits"]
        model = load_checkpoint(Path(args.run) / "checkpoints" / ("phase1" if r == 1 else f"round_{r - 1:03d}")).eval()
        _, holdout = saved_data(rundir, base, digits - 1)
        out = {}
        for bf16 in (False, True):
            cfg = replace(base, decode_precision="bf16" if bf16 else "fp32")
            t0 = time.perf_counter()
            labels, _ = self_label(model, task, make_labeller(cfg), make_filters(cfg), digits,
                                   args.problems or cfg.round_problems, rng_for(cfg.seed, "label", digits),
                                   World(), cfg.mixed_share)
            seconds = time.perf_counter() - t0
            check = held_out_agreement(World(), model, holdout, decode_settings(cfg))
            wrong = sum(lab.accepted and lab.label != oracle.answer(lab.problem) for lab in labels)
            out[bf16] = ([(lab.label, lab.accepted) for lab in labels], wrong, min(check.values()), seconds)
        (fp32, wrong32, check32, s32), (bf, wrong16, check16, s16) = out[False], out[True]
        print(f"| {r} | {digits} | {sum(a == b for a, b in zip(fp32, bf))} / {len(fp32)} "
              f"| {sum(ok for _, ok in fp32)} / {sum(ok for _, ok in bf)} | {wrong32} / {wrong16} "
              f"| {check32:.3f} / {check16:.3f} | {s32:.1f} / {s16:.1f} ({s32 / s16:.2f}x) |", flush=True)


if __name__ == "__main__":
    main()
