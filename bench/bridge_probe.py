"""Does a short stage of widened SLOW steps at the end of phase 1 lift round 1's acceptance?

Round 1 (7 digits) is where the default preset's runs accepted least: 0.778-0.902 in six
runs, mixed-length problems 0.24-0.56 against 0.86-0.97 for equal lengths. Its labels come
from the phase-1 model, which has never trained a SLOW step of a 7-digit problem nor one
that copies a run of zeros longer than 5; the rounds' widened replay (`mixture.widened_steps`)
comes only after round 1's labelling.

From a finished run's phase-1 checkpoint, each arm trains STEPS more steps on phase-1 data
(no answers past the supervised lengths) with a fresh AdamW (a run's phase-1 checkpoint
keeps no optimizer moments unless it is the newest), then labels round 1's problems (the
run's draw: same seed, same length) with the run's labeller and filters; the truth scores
them post hoc. For runs made before `bridge_steps`, whose phase 1 ends without it.
  none   no more training: the run's own round 1 again
  plain  the phase-1 mixture (its pools and its copy task)
  widen  the rounds' replay mixture at the supervised length: phase-1 pools with half the
         SLOW steps widened up to replay_pad_ahead past it (half of those under mixed-length
         digits), and the rounds' copy task

    python bench/bridge_probe.py RUN [--steps 200] [--arm none --arm plain --arm widen]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from sector.config import Config
from sector.distributed import World
from sector.loop import make_filters, make_labeller, rng_for, saved_data, self_label
from sector.mixture import phase1_mixture, replay_mixture
from sector.rundir import RunDir, load_checkpoint
from sector.tasks import get_task
from sector.training import Trainer, mixed_batches


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--arm", action="append", choices=("none", "plain", "widen"))
    args = ap.parse_args()
    rundir = RunDir.open(args.run, writable=False)
    cfg = Config.from_saved(rundir.config)
    if cfg.bridge_steps:
        raise SystemExit(f"{args.run}: its phase-1 checkpoint already holds {cfg.bridge_steps} bridge steps")
    task, oracle = get_task(cfg.task)
    supervised = cfg.supervised_digits
    pools, _ = saved_data(rundir, cfg, supervised)
    for arm in args.arm or ("none", "plain", "widen"):
        model = load_checkpoint(Path(args.run) / "checkpoints" / "phase1")
        trainer = Trainer(model, replace(cfg.train, compile=False))
        trainer.step = cfg.train.warmup_steps  # past warm-up, as the run was
        t0 = time.perf_counter()
        if arm == "plain":
            mixture = phase1_mixture(cfg, task, pools, range(1, supervised + 1))
        else:
            mixture = replay_mixture(cfg, task, pools, {}, 0.0, supervised)
        if arm != "none":
            trainer.train(mixed_batches(mixture, cfg.train.batch_size, args.steps, rng_for(cfg.seed, "bridge", 0)),
                          args.steps, desc=arm, lr=cfg.round_lr or None)
        trained = time.perf_counter() - t0
        labels, fired = self_label(model, task, make_labeller(cfg), make_filters(cfg), supervised + 1,
                                   cfg.round_problems, rng_for(cfg.seed, "label", supervised + 1), World(),
                                   cfg.mixed_share)
        rows = [(lab.problem.is_mixed, lab.accepted, lab.label == oracle.answer(lab.problem)) for lab in labels]
        share = " / ".join(f"{sum(a for _, a, _ in rs) / max(len(rs), 1):.3f}" for rs in
                           (rows, [r for r in rows if not r[0]], [r for r in rows if r[0]]))
        accepted = [r for r in rows if r[1]]
        print(f"[{arm}] {args.steps if arm != 'none' else 0} steps ({trained:.0f} s): acceptance all / equal / "
              f"mixed {share}; wrong {sum(not r[2] for r in accepted)} / {len(accepted)}; fired {fired}", flush=True)


if __name__ == "__main__":
    main()
