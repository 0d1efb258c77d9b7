"""What a round's batches cost to make in Python, beside the step that trains on them.

A round draws each batch from its mixture (`method.train_until_agreement`): new labels,
replay whose SLOW steps are widened one example at a time (`mixture.widened_steps`), fresh
copy strings and problem copies; the trainer then encodes it. This times both on CPU, at the
round's settings, over data of the round's lengths made here with the answer function (a
benchmark, not a run), and compares them with the compiled step's time from a run's record
(`train_s / steps` of its round at that length), which includes them.

    python bench/batch_cost.py [RUN_DIR_OR_RECORD] [--digits 20] [--batches 200]

Results: docs/DESIGN.md, "Batches are made in Python".
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sector.config import preset
from sector.method import supervised_examples
from sector.mixture import round_mixture
from sector.rundir import read_jsonl
from sector.tasks import get_task
from sector.training import encode_batch, mixed_batches


def recorded_step_s(run: Path, digits: int) -> float | None:
    """Seconds a training step took in the run's round at `digits` (None: no such round)."""
    rounds = (p for p in read_jsonl(run / "progress.jsonl") if p["unit"] == "round" and p.get("steps"))
    return next((p["train_s"] / p["steps"] for p in rounds if p["digits"] == digits), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", default="docs/runs/columns_families_pieces_s1", metavar="RUN_DIR_OR_RECORD",
                    help="a run directory or its record, for the step time it recorded")
    ap.add_argument("--digits", type=int, default=20, help="the round's new length")
    ap.add_argument("--batches", type=int, default=200, help="batches to make and encode")
    args = ap.parse_args()
    cfg = preset("default")
    task, oracle = get_task(cfg.task, cfg.prompt_format)
    rng = np.random.default_rng(0)
    families = cfg.mixture.families
    new = supervised_examples(task, oracle, rng, args.digits, 1000, families=families)
    replay = {d: supervised_examples(task, oracle, rng, d, 300, families=families) for d in range(1, args.digits)}
    pools = round_mixture(cfg.mixture, task, new, replay, {}, args.digits)

    t0 = time.perf_counter()
    batches = list(mixed_batches(pools, cfg.train.batch_size, args.batches, rng))
    draw_s = (time.perf_counter() - t0) / args.batches
    t0 = time.perf_counter()
    for batch in batches:
        encode_batch(batch)
    encode_s = (time.perf_counter() - t0) / args.batches

    step_s = recorded_step_s(Path(args.run), args.digits)
    print(f"{args.digits} digits, batch {cfg.train.batch_size}, {args.batches} batches")
    print(f"  draw (mixture, widening, copies): {draw_s * 1e3:6.2f} ms a batch")
    print(f"  encode:                           {encode_s * 1e3:6.2f} ms a batch")
    if step_s:
        print(f"  a training step in {args.run}: {step_s * 1e3:.0f} ms; batches are "
              f"{(draw_s + encode_s) / step_s:.1%} of it")


if __name__ == "__main__":
    main()
