"""Try anneal settings post hoc on a finished run: start from its last round's checkpoint
(before the run's own anneal), anneal as `loop.anneal` does with each variant, and score
FAST on the lengths asked, on the problems the run's own final evaluation drew (same seed
and stream, so variants and the run's annealed model are compared on the same problems).

Each variant starts a fresh AdamW (only a run's newest checkpoint keeps optimizer moments);
variant "run" scores the run's own annealed checkpoint, which had the round's moments.

    python bench/anneal_variants.py RUN --lengths 34-42 \
        --variant steps=400 --variant steps=800 --variant steps=400,focus=10
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from sector.config import Config
from sector.distributed import World
from sector.evaluate import Evaluator
from sector.loop import anneal, decode_settings, held_out_agreement, rng_for, saved_data
from sector.rundir import RunDir, load_checkpoint
from sector.tasks import get_task
from sector.training import Trainer


def parse_variant(text: str) -> dict[str, float]:
    """`steps=N[,lr=X][,focus=F]` as a dict; anything else is an error."""
    v = {k: float(x) for k, x in (kv.split("=") for kv in text.split(","))}
    if "steps" not in v or set(v) - {"steps", "lr", "focus"}:
        raise SystemExit(f"--variant {text!r}: steps=N[,lr=X][,focus=F]")
    return v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--lengths", default="34-42", help="FAST lengths to score, A-B")
    ap.add_argument("--variant", action="append", default=[], help="steps=N[,lr=X][,focus=F]")
    args = ap.parse_args()
    rundir = RunDir.open(args.run, writable=False)
    cfg = Config.from_saved(rundir.config)
    state = rundir.state
    task, oracle = get_task(cfg.task)
    evaluator = Evaluator(task, oracle, decode_settings(cfg))
    lo, hi = map(int, args.lengths.split("-"))
    problems = evaluator.fresh_problems(rng_for(cfg.seed, "eval-final", state["round"]),
                                        range(1, state["frontier"] + cfg.eval_beyond + 1), cfg.final_eval_problems)
    problems = {d: ps for d, ps in problems.items() if lo <= d <= hi}
    replay, holdout = saved_data(rundir, cfg, state["frontier"])
    last_round = Path(args.run) / "checkpoints" / f"round_{state['round']:03d}"

    def score(model) -> dict[int, float]:
        return {r["digits"]: r["accuracy"] for r in evaluator.accuracy(model, problems, modes=("fast",))}

    results = {"run": {"fast": score(load_checkpoint(Path(args.run) / "checkpoints" / "annealed"))}}
    print("run", results["run"], flush=True)
    before = held_out_agreement(World(), load_checkpoint(last_round), holdout, decode_settings(cfg))
    for text in args.variant:
        v = parse_variant(text)
        model = load_checkpoint(last_round)
        trainer = Trainer(model, replace(cfg.train, compile=False))
        trainer.step = state["trainer_step"]  # past warmup (the run's last step), so no warmup
        vcfg = replace(cfg, anneal_steps=int(v["steps"]), anneal_lr=v.get("lr", cfg.anneal_lr),
                       anneal_focus=v.get("focus", 0.0))
        t0 = time.perf_counter()
        stats = anneal(trainer, replay, vcfg, task, rng_for(cfg.seed, "anneal", 0), before)
        results[text] = {"fast": score(model), "train_s": time.perf_counter() - t0, "loss": stats["loss"],
                         "worst_agreement_before": min(before.values())}
        print(text, results[text], flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
