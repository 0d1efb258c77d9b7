"""The copy lever in the loop's own rounds: continue a checkpoint's self-training past its
trained length with two copy tasks and compare what the rounds accept.

Each arm loads the same checkpoint and runs `--rounds` SECToR rounds from `--trained-to`
with the loop's own functions (label_round with S&G + commutativity, split_holdout,
self_train with the agreement stop rule, the default preset's settings), differing only
in the round's copying:

    problems: the default preset: half of the copying long strings with doubled characters
              (copy_repeat=0.2, copy_min_share=0.5), half problems with a zero-padded
              operand (copy_problems=0.5; session 10)
    lever:    copy_problems=0: all of it long strings with doubled characters (session 9)
    uniform:  also copy_repeat=0, copy_min_share=0 (lengths uniform from 1, session 6's copy task)

The first round labels the same problems with the same model in both arms; the arms differ
from the second round on. What this bench cannot rebuild is the original run's replay of its
own self-labels at 7..trained-to: it replays ground-truth examples of those lengths instead
(800 problems a length, about what a round kept, whose labels were 99.2-99.9% right), and
their held-out agreement from 100 more. The rounds' own labels are the model's alone; the
truth only scores them (acceptance, label error) and the model after each round.

    python bench/copy_lever_rounds.py docs/reach/checkpoint --trained-to 23 --rounds 3 \
        --arm lever --out bench_lever.jsonl [--save DIR] [--device cuda]
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from sector import loop
from sector.config import preset
from sector.distributed import World
from sector.evaluate import Evaluator
from sector.labelling import Label, training_examples
from sector.model import save_model
from sector.rundir import load_checkpoint
from sector.tasks import get_task
from sector.training import Trainer, faster_precision

ARMS = {"problems": {}, "lever": {"copy_problems": 0.0},
        "uniform": {"copy_problems": 0.0, "copy_repeat": 0.0, "copy_min_share": 0.0}}


def acceptance_by_kind(labels: list[Label]) -> dict[str, float]:
    """Acceptance on problems with both operands at full length, and on those with one
    written zero-padded (mixed lengths), which a SLOW step miscopies far more often."""
    out = {}
    for kind, mixed in (("equal", False), ("mixed", True)):
        mine = [lab for lab in labels if lab.problem.is_mixed == mixed]
        out[f"acceptance_{kind}"] = sum(lab.accepted for lab in mine) / max(len(mine), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--trained-to", type=int, required=True, help="the checkpoint's last self-trained length")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--arm", choices=sorted(ARMS), required=True)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON", help="config overrides for both arms")
    ap.add_argument("--out", required=True, help="JSONL file to append a row per round to")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--save", metavar="DIR", help="write the model here after every round (for `sector eval DIR`)")
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    cfg = preset("default", **ARMS[args.arm], **overrides)
    task, oracle = get_task(cfg.task)
    decode_kw = loop.decode_settings(cfg)
    evaluator = Evaluator(task, oracle, decode_kw)
    cfg.train.precision = faster_precision(args.device)
    trainer = Trainer(load_checkpoint(args.checkpoint).to(args.device), cfg.train)
    labeller, filters = loop.make_labeller(cfg), loop.make_filters(cfg)

    replay, holdout = {}, {}
    for d in range(1, args.trained_to + 1):
        count = cfg.pool_per_length if d <= cfg.supervised_digits else 800
        replay[d] = loop.supervised_examples(task, oracle, loop.rng_for(cfg.seed, "phase1-pool", d), d, count,
                                             cfg.slow_pad_to, cfg.mixed_share)
        if d > cfg.supervised_digits:
            held = task.sample(loop.rng_for(cfg.seed, "bench-holdout", d), d, 100, cfg.mixed_share)
            holdout[d] = [(task.fast_prompt(p), task.fast_target(oracle.answer(p), p)) for p in held]

    frontier = args.trained_to
    for r in range(1, args.rounds + 1):
        t0 = time.perf_counter()
        labels, fired, acceptance, lengths = loop.label_round(trainer.model, task, labeller, filters, cfg, frontier,
                                                              World())
        label_s = time.perf_counter() - t0
        quality, _ = evaluator.label_quality(labels)
        row = {"arm": args.arm, "round": r, "digits": frontier + 1, "acceptance": acceptance[frontier + 1],
               "filters": fired, "label_error": loop.label_error(quality), "label_s": label_s,
               "accepted_wrong": sum(q["n"] - q["correct"] for q in quality if q["mode"] == "label_accepted"),
               **acceptance_by_kind(labels)}
        if lengths:
            d = lengths[-1]
            train_labels, held = loop.split_holdout(labels, cfg.holdout_labels, loop.rng_for(cfg.seed, "holdout", d))
            new = training_examples(task, train_labels)
            holdout[d] = [(task.fast_prompt(lab.problem), task.fast_target(lab.label, lab.problem)) for lab in held]
            def check() -> dict[int, float]:
                return loop.held_out_agreement(World(), trainer.model, holdout, decode_kw)

            stats = loop.self_train(trainer, new, replay, cfg, task, d, loop.rng_for(cfg.seed, "train", r),
                                    check(), check)
            replay[d] = new
            frontier = d
            probe = evaluator.fresh_problems(loop.rng_for(cfg.seed, "bench-eval", r), range(d - 3, d + 3), 300)
            fast_rows = evaluator.accuracy(trainer.model, {n: ps for n, ps in probe.items() if n <= d}, modes=("fast",))
            step_rows = evaluator.step_accuracy(trainer.model, {n: ps for n, ps in probe.items() if n > d})
            row |= {"steps": stats["steps"], "train_s": stats["train_s"],
                    "fast": {str(x["digits"]): x["accuracy"] for x in fast_rows},
                    "slow_step": {str(x["digits"]): x["accuracy"] for x in step_rows}}
        row["wall_s"] = time.perf_counter() - t0
        if args.save and lengths:
            save_model(trainer.model, args.save)
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        if not lengths:
            break


if __name__ == "__main__":
    main()
