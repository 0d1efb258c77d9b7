"""Train one round of a finished run again, from the round before's checkpoint, on the
round's own saved labels, under other settings; then let each variant label the next
length, as the run's next round did.

Each arm (`--arm KEY=VALUE[,KEY=VALUE]`, config fields as `sector run --set` takes them;
`--arm ""` for the run's own settings) starts from the checkpoint the run saved before
the round, with a fresh AdamW (a run keeps optimizer moments only in its newest
checkpoint) and eager training, and runs `loop.self_train` as the round did: chunks of
round_steps, each one cosine cycle, a check of every held-out length after each, until the
check settles or round_max_steps are spent. Prints each check's worst lengths and the steps
it took. With `--label-next`, the arm's model then labels the run's next round's problems
(the same draw: same seed, same length) with the run's labeller and filters, and the truth
scores them post hoc: acceptance on equal-length and on mixed-length problems (one operand
written zero-padded), and wrong accepted labels. The run's own next round is printed beside.

    python bench/round_again.py RUN --round 14 --arm "" --arm replay_pad_mixed=0.5 --label-next
    python bench/round_again.py RUN --round 11 --arm round_lr=1e-3 --arm round_lr=3e-4
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from sector.config import Config, apply_settings, parse_setting
from sector.distributed import World
from sector.loop import (decode_settings, held_out_agreement, make_filters, make_labeller, rng_for, saved_data,
                         self_label, self_train)
from sector.rundir import RunDir, load_checkpoint, read_jsonl
from sector.tasks import Problem, get_task
from sector.training import Trainer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--round", type=int, required=True)
    ap.add_argument("--arm", action="append", required=True, help='settings, comma-separated; "" = the run\'s own')
    ap.add_argument("--label-next", action="store_true")
    args = ap.parse_args()
    rundir = RunDir.open(args.run, writable=False)
    base = Config.from_saved(rundir.config)
    task, oracle = get_task(base.task)
    rounds = {row["round"]: row for row in rundir.rows("progress.jsonl") if row.get("unit") == "round"}
    digits = rounds[args.round]["digits"]
    replay, holdout = saved_data(rundir, base, digits)
    new = replay.pop(digits)
    before = Path(args.run) / "checkpoints" / ("phase1" if args.round == 1 else f"round_{args.round - 1:03d}")
    print(f"round {args.round} ({digits} digits) in the run: {rounds[args.round]['steps']} steps; checks "
          + " | ".join(_worst(c["agreement"]) for c in rounds[args.round]["checks"]), flush=True)
    if args.label_next:
        truth = read_jsonl(Path(args.run) / "labels" / f"round_{args.round + 1:03d}.eval.jsonl")
        print(f"  its next round ({digits + 1} digits): "
              + _scores([(task.parse_problem(t["problem"]), t["accepted"], t["label_correct"]) for t in truth]), flush=True)
    for arm in args.arm:
        cfg = replace(base, train=replace(base.train))
        apply_settings(cfg, dict(parse_setting(s) for s in arm.split(",") if s))
        cfg.validate()
        model = load_checkpoint(before)
        trainer = Trainer(model, replace(cfg.train, compile=False))
        trainer.step = rundir.state["trainer_step"]  # past warmup (the run's last step), so no warmup

        def check() -> dict[int, float]:
            return held_out_agreement(World(), model, holdout, decode_settings(cfg))

        t0 = time.perf_counter()
        stats = self_train(trainer, new, replay, cfg, task, digits, rng_for(cfg.seed, "train", args.round),
                           check(), check)
        print(f"[{arm or 'the run'}] {stats['steps']} steps, {time.perf_counter() - t0:.0f} s; checks "
              + " | ".join(_worst(c["agreement"]) for c in stats["checks"]), flush=True)
        if args.label_next:
            t0 = time.perf_counter()
            labels, fired = self_label(model, task, make_labeller(cfg), make_filters(cfg), digits + 1,
                                       cfg.round_problems, rng_for(cfg.seed, "label", digits + 1), World(),
                                       cfg.mixed_share)
            print(f"  labels {digits + 1} digits ({time.perf_counter() - t0:.0f} s): " + _scores(
                [(lab.problem, lab.accepted, lab.label == oracle.answer(lab.problem)) for lab in labels])
                + f"; filters fired {fired}", flush=True)


def _scores(rows: list[tuple[Problem, bool, bool]]) -> str:
    """Acceptance on all, equal-length and mixed-length problems, and wrong / accepted, from
    (problem, accepted, label right) rows."""
    is_mixed = [p.is_mixed for p, _, _ in rows]
    mixed, equal = ([r for r, m in zip(rows, is_mixed) if m == want] for want in (True, False))
    share = " / ".join(f"{sum(r[1] for r in rs) / max(len(rs), 1):.3f}" for rs in (rows, equal, mixed))
    accepted = [r for r in rows if r[1]]
    return f"acceptance all / equal / mixed {share}; wrong {sum(not r[2] for r in accepted)} / {len(accepted)}"


def _worst(agreement: dict[str, float], count: int = 2) -> str:
    return ", ".join(f"{d}: {a:.2f}" for d, a in sorted(agreement.items(), key=lambda kv: kv[1])[:count])


if __name__ == "__main__":
    main()
