"""SECToR (Zhang & Parkes 2023), the method, top to bottom.

Phase 1, supervised: train FAST and the SLOW step on ground-truth problems of 1..N digits,
adding a length each time the gate passes on held-out problems; then a few steps on the
rounds' own mixture (the bridge), whose SLOW steps are written wider than any supervised
problem. This is the only place training data comes from the answer function.

Phase 2, self-training, one length per round: sample fresh (n+1)-digit problems, label
them with the model alone (Simplify-then-Guess), keep the labels that survive the filters
(the commutativity twin, the split check), stop if too few survive, else train on them,
on the SLOW steps that produced them and on replayed earlier data until FAST reproduces
a few held-out labels of every length; evaluate; the frontier is n+1. The run stops when
too few labels survive, after rounds.max_rounds, or when the time budget is spent.

Then the anneal: a short pass over all the run's data with the learning rate falling to 0.

The bookkeeping (rows, timers, logs, checkpoints, TensorBoard, resuming) is the
`Experiment`'s (sector/experiment.py); ground truth after phase 1 reaches only its
evaluator, which reports and never chooses data.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping
import numpy as np

from sector.config import Config
from sector.experiment import (AnnealRecord, Experiment, LabelledBatch, Log, Phase1Check, RoundRecord, Training,
                               open_experiment)
from sector.labelling import Filter, Label, Labeller, label_and_filter, labelling_from_config, training_examples
from sector.mixture import phase1_mixture, replay_mixture, round_mixture
from sector.tasks import Oracle, Task, fast_example, slow_example
from sector.training import Example, mixed_batches

# Phase 1's gate: FAST and one SLOW step right on this share of held-out problems of every length.
GATE_ACCURACY = 0.95


def run(cfg: Config | None, out: str | Path, resume: bool = False, changes: dict[str, object] | None = None,
        log: Log = print) -> dict:
    """Run SECToR into the directory `out` (or resume the run there, with its own config and
    `changes` of config.RESUME_SETTINGS applied); returns the summary."""
    experiment, oracle = open_experiment(cfg, out, resume, changes or {}, log)
    if not experiment.state.phase1_done:
        supervised_phase(experiment, oracle)
    stop = self_training(experiment)
    summary = experiment.finish(stop)
    experiment.close()
    return summary


# -- phase 1 ------------------------------------------------------------------------------------

def supervised_phase(exp: Experiment, oracle: Oracle) -> None:
    """The curriculum: train on lengths 1..L, check the gate, add L+1 once it passes; then the
    bridge, whether or not the gate passed; then FAST and the SLOW chain evaluated."""
    cfg, task, state = exp.cfg.phase1, exp.task, exp.state
    pools = supervised_data(exp, oracle)
    supervised = range(1, cfg.digits + 1)
    gate_problems = exp.evaluator.fresh_problems(exp.stream("gate", 0), supervised, cfg.gate_problems)
    while not state.gate_met and state.phase1_steps < cfg.max_steps:
        check = Phase1Check(lengths=state.stage_length)
        lengths = range(1, state.stage_length + 1)
        steps = min(cfg.stage_steps, cfg.max_steps - state.phase1_steps)
        with check.timed("stage"):
            batches = mixed_batches(phase1_mixture(exp.cfg.mixture, task, pools, lengths), exp.cfg.train.batch_size,
                                    steps, exp.stream("phase1", state.phase1_checks))
            check.training = train(exp, batches, steps, f"phase 1, lengths 1..{state.stage_length}")
            check.gate = exp.evaluator.gate(exp.model, {d: gate_problems[d] for d in lengths})
        check.passed = all(r["accuracy"] >= GATE_ACCURACY for r in check.gate)
        state.phase1_steps += steps
        state.phase1_checks += 1
        state.gate_met = check.passed and state.stage_length == cfg.digits
        if check.passed:
            state.stage_length = min(state.stage_length + 1, cfg.digits)
        exp.record_phase1_check(check)
    if not state.gate_met:
        exp.log(f"phase 1 | gate not met after {state.phase1_steps} steps; self-training starts anyway")
    if cfg.bridge_steps and not state.bridged:
        # Round 1 labels with a SLOW step that has copied operands as wide as its own.
        pools_ahead = replay_mixture(exp.cfg.mixture, task, pools, {}, 0.0, cfg.digits)
        batches = mixed_batches(pools_ahead, exp.cfg.train.batch_size, cfg.bridge_steps, exp.stream("bridge", 0))
        training = train(exp, batches, cfg.bridge_steps, "phase 1, the rounds' mixture", lr=exp.cfg.rounds.lr or None)
        state.phase1_steps += cfg.bridge_steps
        state.bridged = True
        exp.record_bridge(training)
    state.phase1_done = True
    state.frontier = cfg.digits
    t0 = time.perf_counter()
    lengths = range(1, state.frontier + exp.cfg.eval.beyond + 1)
    rows = exp.evaluate("phase1", 0, lengths, exp.cfg.eval.problems, slow_lengths=lengths,
                        family_count=exp.cfg.eval.family_problems)
    exp.record_phase1_eval(rows, time.perf_counter() - t0)


def supervised_data(exp: Experiment, oracle: Oracle) -> dict[int, list[Example]]:
    """Phase 1's ground-truth pools by length, made once and written to the run directory
    (with FAST examples held out of them, which the rounds check FAST against), else read."""
    cfg, task, rundir = exp.cfg.phase1, exp.task, exp.rundir
    supervised = range(1, cfg.digits + 1)
    if exp.state.stage_length:
        return saved_phase1_pools(exp)
    families = exp.cfg.mixture.families
    pools = {d: supervised_examples(task, oracle, exp.stream("phase1-pool", d), d, cfg.pool_per_length,
                                    cfg.slow_pad_to, families) for d in supervised}
    for d, examples in pools.items():
        rundir.write_examples(f"phase1_len{d:02d}", examples)
        held_out = task.sample(exp.stream("phase1-holdout", d), d, exp.cfg.rounds.holdout_labels, families)
        rundir.write_examples(f"holdout_len{d:02d}", [fast_example(task, p, oracle.answer(p)) for p in held_out])
    exp.state.stage_length = cfg.curriculum_start
    return pools


def supervised_examples(task: Task, oracle: Oracle, rng: np.random.Generator, digits: int, count: int,
                        pad_to: int = 0, families: str | Mapping[str, float] = "uniform") -> list[Example]:
    """Ground-truth FAST examples and SLOW steps for `count` problems of `digits` digits drawn
    from `families` (one, or a weighted mixture). With `pad_to`, half the problems' SLOW steps
    are written instead with leading zeros, to a width drawn from `digits`..`pad_to` (their
    own width included, so some stay as they were)."""
    out = []
    problems = task.sample(rng, digits, count, families)
    widths = rng.integers(digits, max(digits, pad_to) + 1, size=count)
    padded = rng.random(count) < 0.5
    for p, width, pad in zip(problems, widths, padded):
        out.append(fast_example(task, p, oracle.answer(p)))
        if pad and pad_to:
            p = task.pad(p, int(width))
        if task.can_reduce(p):
            out.append(slow_example(task, p, *oracle.slow_step(p)))
    return out


# -- phase 2 ------------------------------------------------------------------------------------

@dataclass
class RoundData:
    """What the rounds train on and check against, by length: phase 1's pools and each round's
    self-labels (`replay`), and the held-out labels FAST must reproduce (`holdout`)."""

    replay: dict[int, list[Example]]
    holdout: dict[int, list[Example]]


def self_training(exp: Experiment) -> str:
    """Phase 2: rounds until one's labels fail, max_rounds, or the time budget; then the
    anneal. Returns why the rounds stopped."""
    labeller, filters = labelling_from_config(exp.cfg.rounds, exp.decode_kw)
    data = saved_round_data(exp)
    stop = exp.state.stop_reason  # labels that failed end a run for good; limits are checked afresh
    agree = None  # FAST against the held-out labels, as last checked (None: not yet in this process)
    while stop is None:
        stop = exp.limit_reached()
        if stop is None:
            stop, agree = self_training_round(exp, labeller, filters, data, agree)
    if exp.cfg.anneal.steps and not exp.state.annealed:
        anneal(exp, data, agree)
    return stop


def self_training_round(exp: Experiment, labeller: Labeller, filters: list[Filter], data: RoundData,
                        agree: dict[int, float] | None) -> tuple[str | None, dict[int, float]]:
    """One round. Returns why the run stops (None: it goes on) and FAST's agreement with the
    held-out labels as the round leaves it."""
    cfg, state = exp.cfg, exp.state
    record = RoundRecord(number=state.round + 1)
    if agree is None:
        with record.timed("check"):
            agree = exp.holdout_agreement(data.holdout)
    # Sample fresh problems past the frontier, label them with the model alone, filter.
    with record.timed("label"):
        record.batch = label_new_lengths(exp, labeller, filters)
    # Stop when too few labels survive.
    if not record.batch.kept:
        failed = state.frontier + 1
        state.stop_reason = record.stop_reason = (
            f"acceptance {record.batch.acceptance[failed]:.2f} < {cfg.rounds.stop_acceptance} "
            f"at {failed} digits in round {record.number}")
        exp.record_round(record)
        return state.stop_reason, agree
    # Train on the labels (less a few held out), their SLOW steps and replay, until FAST
    # reproduces the held-out labels of every length.
    digits = record.batch.kept[-1]
    fresh = hold_out(exp, record.batch, data.holdout)
    new = [ex for exs in fresh.values() for ex in exs]
    record.examples = len(new)
    with record.timed("train"):
        record.training = train_until_agreement(exp, new, data, digits, agree, exp.stream("train", record.number))
    data.replay |= fresh
    # Evaluate on fresh problems (ground truth, reported only). The full SLOW chain costs n
    # steps a problem: it is scored from the new length on.
    evaluated = range(1, digits + cfg.eval.beyond + 1)
    with record.timed("eval"):
        record.metrics = exp.evaluate("self", record.number, evaluated, cfg.eval.problems,
                                      slow_lengths=range(digits, evaluated.stop), family_count=cfg.eval.family_problems)
    # Advance the frontier.
    state.round, state.frontier, state.annealed = record.number, digits, False
    exp.record_round(record)
    return None, record.training.agreement


def label_new_lengths(exp: Experiment, labeller: Labeller, filters: list[Filter]) -> LabelledBatch:
    """Self-label rounds.problems fresh problems at each of the rounds.lengths lengths past
    the frontier, shortest first, each rank its shard. A length whose acceptance falls below
    rounds.stop_acceptance ends the labelling: the round keeps the lengths before it (none:
    the run stops). Problems are drawn by the seed and the length, so a resumed round labels
    the same ones."""
    cfg, world, frontier = exp.cfg.rounds, exp.world, exp.state.frontier
    batch = LabelledBatch()
    for digits in range(frontier + 1, frontier + cfg.lengths + 1):
        problems = exp.task.sample(exp.stream("label", digits), digits, cfg.problems, exp.cfg.mixture.families)
        labels, fired = label_and_filter(exp.model, exp.task, labeller, filters, world.shard(problems))
        counts = world.gather([fired])
        batch.add(digits, world.gather(labels), {k: sum(c[k] for c in counts) for k in fired})
        if batch.acceptance[digits] < cfg.stop_acceptance:
            break
        batch.kept.append(digits)
    return batch


def hold_out(exp: Experiment, batch: LabelledBatch, holdout: dict[int, list[Example]]) -> dict[int, list[Example]]:
    """Per kept length, the training examples of the round's labels (see
    `labelling.training_examples`), less a few accepted ones held out as FAST examples and
    added to `holdout`; both written to the run directory."""
    fresh = {}
    for d in batch.kept:
        train_labels, held = split_holdout([lab for lab in batch.labels if lab.problem.digits == d],
                                           exp.cfg.rounds.holdout_labels, exp.stream("holdout", d))
        fresh[d] = training_examples(exp.task, train_labels)
        holdout[d] = [fast_example(exp.task, lab.problem, lab.label) for lab in held]
        exp.rundir.write_examples(f"self_len{d:02d}", fresh[d])
        exp.rundir.write_examples(f"holdout_len{d:02d}", holdout[d])
    return fresh


def split_holdout(labels: list[Label], count: int, rng: np.random.Generator) -> tuple[list[Label], list[Label]]:
    """(labels to train on, accepted labels kept out of training to check FAST against): up
    to `count`, and never more than a fifth of the accepted ones."""
    accepted = [i for i, lab in enumerate(labels) if lab.accepted]
    held = set(rng.permutation(accepted)[: min(count, len(accepted) // 5)].tolist())
    return [lab for i, lab in enumerate(labels) if i not in held], [labels[i] for i in sorted(held)]


def train_until_agreement(exp: Experiment, new: list[Example], data: RoundData, digits: int,
                          agree: dict[int, float], rng: np.random.Generator) -> Training:
    """Fine-tune on the round's examples beside the replayed ones in chunks of rounds.steps
    (each one cosine cycle, so every check sees a settled model) until FAST's agreement with
    the held-out labels passes `round_converged`, or rounds.max_steps are spent. `agree`,
    where the last check left it, weights each chunk's replay toward the lengths FAST is
    forgetting. A round also stops after the chunk in which the time budget runs out."""
    cfg = exp.cfg.rounds
    new_lengths = set(data.holdout) - set(data.replay)
    chunks: list[Training] = []
    done, cut, checks = 0, False, []
    while done < cfg.max_steps:
        steps = min(cfg.steps, cfg.max_steps - done)
        pools = round_mixture(exp.cfg.mixture, exp.task, new, data.replay, agree, digits)
        chunks.append(train(exp, mixed_batches(pools, exp.cfg.train.batch_size, steps, rng), steps,
                            f"self-training, {digits} digits", lr=cfg.lr or None))
        done += steps
        agree = exp.holdout_agreement(data.holdout)
        checks.append({"steps": done, "agreement": {str(d): a for d, a in agree.items()}})
        if round_converged(agree, new_lengths, cfg.agreement, cfg.earlier_agreement):
            break
        if done < cfg.max_steps and not exp.fits(0.0):
            cut = True
            break
    wall = sum(c.train_s for c in chunks)
    return Training(loss=chunks[-1].loss, steps=done, train_s=wall,
                    tokens_per_s=sum(c.tokens_per_s * c.train_s for c in chunks) / max(wall, 1e-9),
                    checks=checks, agreement=agree, cut_by_budget=cut)


def round_converged(agree: dict[int, float], new_lengths: set[int], new_floor: float, earlier_floor: float) -> bool:
    """Whether a round may stop training: FAST reproduces the held-out labels of its new
    lengths at `new_floor`, and of every earlier length at `earlier_floor` (a floor for
    forgetting, below the noise of a 100-label sample)."""
    return all(a >= (new_floor if d in new_lengths else earlier_floor) for d, a in agree.items())


def anneal(exp: Experiment, data: RoundData, agree: dict[int, float] | None) -> None:
    """The run's last training: anneal.steps on all of its data at once (every length's
    replay in equal shares, SLOW steps widened as in a round, and copying), the learning
    rate falling from anneal.lr to 0. Rounds leave FAST a point or a few short on some
    lengths (each leans on its new length); this evens them out. Self-labels and phase-1
    data only."""
    record = AnnealRecord()
    with record.timed("anneal"):
        record.agreement_before = agree if agree is not None else exp.holdout_agreement(data.holdout)
        pools = replay_mixture(exp.cfg.mixture, exp.task, data.replay, {}, 0.0, max(data.replay))
        batches = mixed_batches(pools, exp.cfg.train.batch_size, exp.cfg.anneal.steps, exp.stream("anneal", 0))
        record.training = train(exp, batches, exp.cfg.anneal.steps, "annealing", lr=exp.cfg.anneal.lr,
                                min_lr_ratio=0.0)
        record.agreement_after = exp.holdout_agreement(data.holdout)
    exp.state.annealed = True
    exp.record_anneal(record)


def saved_round_data(exp: Experiment) -> RoundData:
    """The run's training data by length up to the frontier (phase 1's pools, then each round's
    self-labels) and the held-out labels its rounds check, as written to its directory."""
    rundir, supervised = exp.rundir, exp.cfg.phase1.digits
    replay = saved_phase1_pools(exp)
    replay |= {d: rundir.read_examples(f"self_len{d:02d}") for d in range(supervised + 1, exp.state.frontier + 1)}
    return RoundData(replay, {d: rundir.read_examples(f"holdout_len{d:02d}") for d in range(1, exp.state.frontier + 1)})


def saved_phase1_pools(exp: Experiment) -> dict[int, list[Example]]:
    """Phase 1's ground-truth pools by length, as `supervised_data` wrote them."""
    return {d: exp.rundir.read_examples(f"phase1_len{d:02d}") for d in range(1, exp.cfg.phase1.digits + 1)}


def train(exp: Experiment, batches: Iterable[list[Example]], steps: int, desc: str, **schedule) -> Training:
    """`steps` optimizer steps on `batches`, one cosine cycle (`Trainer.train`)."""
    stats = exp.trainer.train(batches, steps, desc=desc, **schedule)
    return Training(loss=stats["loss"], steps=steps, train_s=stats["wall_s"], tokens_per_s=stats["tokens_per_s"])


__all__ = ["run", "supervised_phase", "self_training", "self_training_round", "anneal", "GATE_ACCURACY"]
