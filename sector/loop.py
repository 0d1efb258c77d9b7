"""The SECToR loop (Zhang & Parkes 2023), top to bottom.

Phase 1, supervised: train FAST and the SLOW step on ground-truth problems of
1..supervised_digits, adding a length each time the gate passes on held-out problems, then
a few steps on the rounds' own mixture, whose SLOW steps are written wider than any
supervised problem. This is the only place training data comes from the answer function.

Phase 2, self-training, one length per round (the paper) or a few: sample fresh
(n+1)-digit problems, label them with Simplify-then-Guess, keep the labels that survive
the filters (commutativity; in the default preset also the split check), stop if too few
survive, else fine-tune on them, on the SLOW steps that produced them and on replayed
earlier data (half its SLOW steps written wider, up to replay_pad_ahead digits past the
round's length, with leading zeros or under a mixed-length problem's digits); then the
frontier is n+1. With round_lengths=2 a round also labels n+2, where S&G's first guess
(FAST at n+1, not yet trained) is outvoted by the guesses after 2..K steps; a length that
fails the acceptance rule ends the round's labelling, and the round keeps the lengths
before it (docs/RESULTS.md: it moves faster but let label errors grow, so the default is
one). How long a round trains is decided without ground truth: a few accepted labels of
every round are held out, and training goes on until FAST reproduces them on every length
(or a step cap); the supervised lengths are checked against phase-1 problems held out of
its pools. The run stops when too few labels survive, after max_rounds, or when the time
budget is spent; then it anneals: a short pass over all its data with the learning rate
falling to 0. `run` reads as this text: `supervised_phase`, then `self_training` (each
round in `self_training_round`, then the anneal), then `finish`. `run` hands the answer
function to `supervised_phase` alone (the `Session` the stages share holds none); after
it, that reaches only the evaluator, which reports.

Every unit of work (a phase-1 stage, a round) ends with a checkpoint and a state.json that
says what is done, so a killed run resumes from its last finished unit.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter

from sector.config import RESUME_SETTINGS, Config, apply_settings
from sector.decoding import agreement
from sector.distributed import World, init_world
from sector.evaluate import FRONTIER_ACCURACY, Evaluator, frontier_of, merge_rows
from sector.labelling import FILTERS, LABELLERS, Filter, Label, Labeller, apply_filters, training_examples
from sector.mixture import phase1_mixture, replay_mixture
from sector.model import MODEL_PRESETS, Model, build_model, num_parameters
from sector.report import write_report
from sector.rundir import RunDir, RunError, load_checkpoint, load_optimizer
from sector.tasks import Oracle, Task, fast_example, get_task, slow_example
from sector.training import Example, Pool, Trainer, faster_precision, mixed_batches

Log = Callable[[str], None]


@dataclass
class LoopState:
    """What is finished. Saved with every checkpoint; enough to resume exactly."""

    phase1_done: bool = False
    stage_length: int = 0  # phase 1 trains lengths 1..stage_length
    phase1_steps: int = 0
    phase1_checks: int = 0
    gate_met: bool = False
    bridged: bool = False  # phase 1's last steps, on the rounds' mixture (Config.bridge_steps)
    frontier: int = 0  # the longest length trained on, supervised or self-labelled
    round: int = 0
    stop_reason: str | None = None  # a round whose labels failed the acceptance rule
    metrics_rows: int = 0
    progress_rows: int = 0
    trainer_step: int = 0
    annealed: bool = False
    wall_s: float = 0.0
    # Each resume that changed a setting: {"round": rounds done then, "changed": {KEY: [old, new]}}.
    resumed_with: list[dict] = field(default_factory=list)


@dataclass
class Session:
    """One process's part in a run under way: what phase 1, the rounds and the anneal share.
    It holds no answer function: after phase 1 that reaches only `evaluator`, which reports."""

    cfg: Config
    world: World
    task: Task
    rundir: RunDir
    trainer: Trainer
    state: LoopState
    evaluator: Evaluator
    started: float  # time.time() at the run's start, earlier processes' time counted
    log: Log
    tb: SummaryWriter | None  # rank 0's TensorBoard writer

    def save(self, name: str, metrics: Sequence[dict] = (), progress: Sequence[dict] = ()) -> None:
        """End a unit of work: its rows appended, then the checkpoint and state.json."""
        state, trainer = self.state, self.trainer
        if self.tb is not None:
            log_scalars(self.tb, metrics, progress, trainer.step)
        self.rundir.append_rows("metrics.jsonl", list(metrics))
        self.rundir.append_rows("progress.jsonl", list(progress))
        state.metrics_rows += len(metrics)
        state.progress_rows += len(progress)
        state.trainer_step = trainer.step
        state.wall_s = time.time() - self.started
        self.rundir.save_checkpoint(name, trainer.model, trainer.optimizer, asdict(state))

    def evaluate(self, phase: str, round_: int, lengths: range, count: int, slow_lengths: range) -> list[dict]:
        """FAST on fresh problems of `lengths`, and the full SLOW chain on those of them in
        `slow_lengths`, sharded across ranks."""
        problems = self.evaluator.fresh_problems(rng_for(self.cfg.seed, f"eval-{phase}", round_), lengths, count)
        model, evaluator = self.trainer.model, self.evaluator
        rows = score_sharded(self.world, lambda mine: evaluator.accuracy(model, mine, modes=("fast",))
                             + evaluator.accuracy(model, {d: p for d, p in mine.items() if d in slow_lengths},
                                                  modes=("slow",)), problems)
        return [{"phase": phase, "round": round_, **r} for r in rows]

    def check(self, holdout: dict[int, list[Example]]) -> dict[int, float]:
        """FAST's agreement with the held-out labels, per length (see `saved_data`)."""
        return held_out_agreement(self.world, self.trainer.model, holdout, decode_settings(self.cfg))

    def fits(self, next_round_s: float) -> bool:
        """Whether a round of `next_round_s` ends within the time budget: the same answer on
        every rank, and no collective without a budget."""
        budget = self.cfg.time_budget_min
        return not budget or self.world.broadcast(round_fits(time.time() - self.started, next_round_s, budget))

    def close(self) -> None:
        """Flush TensorBoard, write the report (rank 0), and leave the process group."""
        if self.tb is not None:
            self.tb.close()
        if self.world.is_main:
            write_report(self.rundir)
        self.world.close()


def rng_for(seed: int, kind: str, index: int) -> np.random.Generator:
    """An independent stream per unit of work, so a resumed unit draws what it would have."""
    return np.random.default_rng([seed, zlib.crc32(kind.encode()), index])


def decode_settings(cfg: Config) -> dict:
    """`greedy`'s keyword arguments, for every decoding the run does (in float32 where
    decode_precision is still auto: `run` settles it first)."""
    return {"batch_size": cfg.decode_batch, "bf16": cfg.decode_precision == "bf16"}


def settle_precisions(cfg: Config, world: World) -> dict[str, list]:
    """train.precision and decode_precision where they are auto, set in place from one probe
    (`training.faster_precision`) on rank 0, so every rank computes alike and config.json
    records the choice; returns what changed, as `{KEY: [old, new]}`."""
    auto = [key for key, value in (("train.precision", cfg.train.precision),
                                   ("decode_precision", cfg.decode_precision)) if value == "auto"]
    if not auto:
        return {}
    chosen = world.broadcast(faster_precision(resolve_device(cfg)) if world.is_main else None)
    return apply_settings(cfg, dict.fromkeys(auto, chosen))


def make_labeller(cfg: Config) -> Labeller:
    """The run's labeller, by its name in the config (labelling.LABELLERS)."""
    return LABELLERS[cfg.labeller](cfg, decode_settings(cfg))


def make_filters(cfg: Config) -> list[Filter]:
    """The run's filters, in the config's order (labelling.FILTERS)."""
    return [FILTERS[name](decode_settings(cfg)) for name in cfg.filters]


def resolve_device(cfg: Config) -> str:
    """The config's device, with auto settled; asking for CUDA where there is none raises RunError."""
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise RunError("device cuda: no CUDA device is available here (--device cpu runs on the CPU)")
    return cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")


def init_model(cfg: Config) -> Model:
    """A fresh model of a size preset, or the pretrained one in a directory (a checkpoint or a
    run's latest); a missing or corrupt one raises RunError."""
    model = build_model(cfg.model, seed=cfg.seed) if cfg.model in MODEL_PRESETS else load_checkpoint(cfg.model)
    return model.to(resolve_device(cfg))


def score_sharded(world: World, score: Callable[[dict], list[dict]],
                  problems_by_length: dict[int, list]) -> list[dict]:
    """`score` (a function of problems by length, returning rows) run on this rank's shard of
    every length, with the rows of all ranks merged: the same rows on every rank."""
    mine = score({d: world.shard(ps) for d, ps in problems_by_length.items()})
    return merge_rows(world.gather([mine]))


# -- phase 1 ------------------------------------------------------------------------------

def supervised_examples(task: Task, oracle: Oracle, rng: np.random.Generator, digits: int,
                        count: int, pad_to: int = 0, mixed: float = 0.0) -> list[Example]:
    """Ground-truth FAST examples and SLOW steps for `count` problems of `digits` digits, a
    share `mixed` of them with one operand shorter.

    With `pad_to`, half the SLOW steps are of the same problems written with leading
    zeros, `digits`..`pad_to` wide: the numbers stay within the supervised lengths, but the
    copy inside a step is trained at every width a later round will need."""
    out = []
    problems = task.sample(rng, digits, count, mixed)
    widths = rng.integers(digits, max(digits, pad_to) + 1, size=count)
    padded = rng.random(count) < 0.5
    for p, width, pad in zip(problems, widths, padded):
        out.append(fast_example(task, p, oracle.answer(p)))
        if pad and pad_to:
            p = task.pad(p, int(width))
        if task.can_reduce(p):
            out.append(slow_example(task, p, *oracle.slow_step(p)))
    return out


def supervised_holdout(task: Task, oracle: Oracle, rng: np.random.Generator, digits: int, count: int,
                       mixed: float = 0.0) -> list[Example]:
    """FAST examples of `count` problems drawn apart from phase 1's pools: the rounds check
    that FAST still holds on the supervised lengths against these, as they check the
    self-trained lengths against held-out self-labels. (Drawn apart, not necessarily unseen:
    at 1 and 2 digits the pools hold nearly every problem there is.) Phase-1 ground truth,
    written in phase 1 with its pools: the rounds read a file, not the answer function."""
    return [fast_example(task, p, oracle.answer(p)) for p in task.sample(rng, digits, count, mixed)]


def supervised_phase(session: Session, oracle: Oracle) -> None:
    """The curriculum: train on lengths 1..L, check the gate, add L+1 once it passes; then
    the bridge (bridge_steps on the rounds' mixture), whether or not the gate passed; then
    FAST and the SLOW chain evaluated on every length. `phase1_steps` counts the bridge's
    steps too. After it, the answer function reaches only the evaluator."""
    cfg, task, trainer, state, log = session.cfg, session.task, session.trainer, session.state, session.log
    rundir, evaluator, save = session.rundir, session.evaluator, session.save
    supervised = range(1, cfg.supervised_digits + 1)
    if state.stage_length == 0:
        pools = {d: supervised_examples(task, oracle, rng_for(cfg.seed, "phase1-pool", d), d,
                                        cfg.pool_per_length, cfg.slow_pad_to, cfg.mixed_share) for d in supervised}
        for d, examples in pools.items():
            rundir.write_examples(f"phase1_len{d:02d}", examples)
            rundir.write_examples(f"holdout_len{d:02d}", supervised_holdout(
                task, oracle, rng_for(cfg.seed, "phase1-holdout", d), d, cfg.holdout_labels, cfg.mixed_share))
        state.stage_length = cfg.curriculum_start
    else:
        pools = {d: rundir.read_examples(f"phase1_len{d:02d}") for d in supervised}
    held_out = evaluator.fresh_problems(rng_for(cfg.seed, "gate", 0), supervised, cfg.gate_problems)
    while not state.gate_met and state.phase1_steps < cfg.phase1_max_steps:
        t0 = time.perf_counter()
        lengths = range(1, state.stage_length + 1)
        rng = rng_for(cfg.seed, "phase1", state.phase1_checks)
        steps = min(cfg.stage_steps, cfg.phase1_max_steps - state.phase1_steps)
        batches = mixed_batches(phase1_mixture(cfg, task, pools, lengths), cfg.train.batch_size, steps, rng)
        stats = trainer.train(batches, steps, desc=f"phase 1, lengths 1..{state.stage_length}")
        state.phase1_steps += steps
        state.phase1_checks += 1
        model = trainer.model
        rows = score_sharded(session.world, lambda seen: evaluator.accuracy(model, seen, modes=("fast",))
                             + evaluator.step_accuracy(model, {d: ps for d, ps in seen.items() if d > 1}),
                             {d: held_out[d] for d in lengths})
        passed = all(r["accuracy"] >= cfg.gate_accuracy for r in rows)
        worst = min(rows, key=lambda r: r["accuracy"])
        log(f"phase 1 | lengths 1..{state.stage_length} | step {state.phase1_steps} | loss {stats['loss']:.3f}"
            f" | worst {worst['mode']}@{worst['digits']} {worst['accuracy']:.2f} | gate {'passed' if passed else 'not yet'}")
        state.gate_met = passed and state.stage_length == cfg.supervised_digits
        row = {"unit": "phase1", "check": state.phase1_checks, "lengths": state.stage_length,
               "step": state.phase1_steps, "loss": stats["loss"], "gate_passed": passed,
               "gate": [{k: r[k] for k in ("mode", "digits", "accuracy")} for r in rows],
               "train_s": stats["wall_s"], "tokens_per_s": stats["tokens_per_s"],
               "wall_s": time.perf_counter() - t0}
        if passed:
            state.stage_length = min(state.stage_length + 1, cfg.supervised_digits)
        save(f"phase1-{state.phase1_checks:03d}", progress=[row])
    if not state.gate_met:
        log(f"phase 1 | gate not met after {state.phase1_steps} steps; self-training starts anyway")
    if cfg.bridge_steps and not state.bridged:
        # The rounds' own mixture, before round 1 labels: see Config.bridge_steps.
        mixture = replay_mixture(cfg, task, pools, {}, 0.0, cfg.supervised_digits)
        stats = trainer.train(mixed_batches(mixture, cfg.train.batch_size, cfg.bridge_steps,
                                            rng_for(cfg.seed, "bridge", 0)),
                              cfg.bridge_steps, desc="phase 1, the rounds' mixture", lr=cfg.round_lr or None)
        state.phase1_steps += cfg.bridge_steps
        state.bridged = True
        log(f"phase 1 | {cfg.bridge_steps} steps of the rounds' mixture, SLOW steps up to "
            f"{cfg.supervised_digits + cfg.replay_pad_ahead} digits wide | loss {stats['loss']:.3f}")
        row = {"unit": "phase1-bridge", "steps": cfg.bridge_steps, "loss": stats["loss"], "train_s": stats["wall_s"],
               "tokens_per_s": stats["tokens_per_s"], "wall_s": stats["wall_s"]}
        save("phase1-bridge", progress=[row])
    state.phase1_done = True
    state.frontier = cfg.supervised_digits
    t0 = time.perf_counter()
    lengths = range(1, state.frontier + cfg.eval_beyond + 1)
    rows = session.evaluate("phase1", 0, lengths, cfg.eval_problems, slow_lengths=lengths)
    save("phase1", metrics=rows, progress=[{"unit": "phase1-eval", "wall_s": time.perf_counter() - t0}])


# -- phase 2 ------------------------------------------------------------------------------

def self_label(model: Model, task: Task, labeller: Labeller, filters: list[Filter], digits: int,
               count: int, rng: np.random.Generator, world: World = World(),
               mixed: float = 0.0) -> tuple[list[Label], dict[str, int]]:
    """Fresh problems of `digits` digits (a share `mixed` with one operand shorter) labelled
    by the model alone, then filtered (each rank labels its shard; every rank gets all the
    labels back)."""
    labels = labeller(model, task, world.shard(task.sample(rng, digits, count, mixed)))
    fired = apply_filters(model, task, labeller, filters, labels)
    counts = world.gather([fired])
    return world.gather(labels), {k: sum(c[k] for c in counts) for k in fired}


def label_round(model: Model, task: Task, labeller: Labeller, filters: list[Filter], cfg: Config, frontier: int,
                world: World) -> tuple[list[Label], dict[str, int], dict[int, float], list[int]]:
    """Self-label round_problems fresh problems at each of the round_lengths lengths past the
    frontier, shortest first. The problems are drawn by the run's seed and the length, so a
    length labelled again (a resumed round) gets the same problems. A length whose acceptance
    falls below stop_acceptance ends the labelling: the round keeps the lengths before it
    (none: the run stops). Returns every label,
    how often each filter fired, the acceptance by length, and the lengths kept."""
    labels: list[Label] = []
    fired: dict[str, int] = {}
    acceptance: dict[int, float] = {}
    kept: list[int] = []
    for digits in range(frontier + 1, frontier + cfg.round_lengths + 1):
        batch, counts = self_label(model, task, labeller, filters, digits, cfg.round_problems,
                                   rng_for(cfg.seed, "label", digits), world, cfg.mixed_share)
        labels += batch
        fired = {k: fired.get(k, 0) + v for k, v in counts.items()}
        acceptance[digits] = sum(lab.accepted for lab in batch) / len(batch)
        if acceptance[digits] < cfg.stop_acceptance:
            break
        kept.append(digits)
    return labels, fired, acceptance, kept


def label_error(quality: list[dict]) -> dict[str, float | None]:
    """Per labelling method, the error over all of a round's lengths (rows from label_quality)."""
    totals: dict[str, list[int]] = {}
    for q in quality:
        t = totals.setdefault(q["mode"], [0, 0])
        t[0] += q["correct"]
        t[1] += q["n"]
    return {mode: 1 - correct / n if n else None for mode, (correct, n) in totals.items()}


def split_holdout(labels: list[Label], count: int, rng: np.random.Generator) -> tuple[list[Label], list[Label]]:
    """(labels to train on, accepted labels kept out of training to check FAST against)."""
    accepted = [i for i, lab in enumerate(labels) if lab.accepted]
    held = set(rng.permutation(accepted)[: min(count, len(accepted) // 5)].tolist())
    return [lab for i, lab in enumerate(labels) if i not in held], [labels[i] for i in sorted(held)]


def store_round_labels(rundir: RunDir, task: Task, cfg: Config, labels: list[Label], lengths: list[int],
                       holdout: dict[int, list[Example]]) -> dict[int, list[Example]]:
    """Per kept length, the training examples of a round's labels (see
    `labelling.training_examples`), less a few accepted ones held out as FAST examples and
    added to `holdout`; both written to the run directory."""
    fresh = {}
    for d in lengths:
        train_labels, held = split_holdout([lab for lab in labels if lab.problem.digits == d],
                                           cfg.holdout_labels, rng_for(cfg.seed, "holdout", d))
        fresh[d] = training_examples(task, train_labels)
        holdout[d] = [fast_example(task, lab.problem, lab.label) for lab in held]
        rundir.write_examples(f"self_len{d:02d}", fresh[d])
        rundir.write_examples(f"holdout_len{d:02d}", holdout[d])
    return fresh


def self_train(trainer: Trainer, new: list[Example], replay: dict[int, list[Example]], cfg: Config,
               task: Task, digits: int, rng: np.random.Generator,
               agree: dict[int, float], check_agreement: Callable[[], dict[int, float]],
               out_of_time: Callable[[], bool] = lambda: False) -> dict:
    """Fine-tune on this round's examples beside `replay_mixture`, in chunks of round_steps
    (each one cosine cycle, so every check sees a settled model), until FAST's agreement with
    held-out self-labels, per length, from `check_agreement`, passes `round_converged`, or
    round_max_steps are spent; the round's new lengths are those checked but not yet in
    `replay` (the caller adds them after the round). `agree` is where the last check left
    the earlier lengths; it weights the first chunk's replay. A round also stops after the
    chunk in which `out_of_time` turns true (`cut` in the result), so the time budget holds
    even when a round needs more steps than the last one. The loss is the last chunk's;
    `agreement` is the last check's."""
    steps, losses, checks, wall, tokens, cut = 0, [], [], 0.0, 0.0, False
    while steps < cfg.round_max_steps:
        pools = [Pool("new", cfg.new_weight, new), *replay_mixture(cfg, task, replay, agree, cfg.replay_focus, digits)]
        chunk = min(cfg.round_steps, cfg.round_max_steps - steps)
        stats = trainer.train(mixed_batches(pools, cfg.train.batch_size, chunk, rng), chunk,
                              desc=f"self-training, {digits} digits", lr=cfg.round_lr or None)
        steps += chunk
        losses.append(stats["loss"])
        wall += stats["wall_s"]
        tokens += stats["tokens_per_s"] * stats["wall_s"]
        agree = check_agreement()
        checks.append({"steps": steps, "agreement": {str(d): a for d, a in agree.items()}})
        if round_converged(agree, set(agree) - set(replay), cfg):
            break
        if steps < cfg.round_max_steps and out_of_time():
            cut = True
            break
    return {"loss": losses[-1], "steps": steps, "checks": checks, "agreement": agree, "train_s": wall,
            "tokens_per_s": tokens / max(wall, 1e-9), "cut": cut}


def round_converged(agree: dict[int, float], new_lengths: set[int], cfg: Config) -> bool:
    """Whether a round may stop training: FAST reproduces the held-out self-labels of its new
    lengths at round_agreement, and of every earlier length at earlier_agreement (a floor for
    forgetting, below the noise of a 100-label sample)."""
    return all(a >= (cfg.round_agreement if d in new_lengths else cfg.earlier_agreement) for d, a in agree.items())


def round_fits(elapsed_s: float, last_round_s: float, budget_min: float) -> bool:
    """Whether a round that takes as long as the last one ends within the time budget (0: none)."""
    return not budget_min or elapsed_s + last_round_s <= 60 * budget_min


def anneal(trainer: Trainer, replay: dict[int, list[Example]], cfg: Config, task: Task,
           rng: np.random.Generator, agree: dict[int, float]) -> dict:
    """The run's last training: anneal_steps on all of its data at once (every length's
    replay in equal shares, or by `agree` as in a round when anneal_focus > 0, SLOW steps
    padded as in a round, and copying), the learning rate falling from anneal_lr to 0.
    Rounds leave FAST a point or a few short on some lengths (each leans on its new length
    and ends its cycle at lr x min_lr_ratio); this lifted the
    worst of 21 lengths from 0.960 to 0.996 and from 0.961 to 0.992 in two runs, and cost the
    newest length of a model the rounds had left clean 0.996 -> 0.984 (docs/RESULTS.md,
    session 13). Phase-1 data and self-labels only."""
    pools = replay_mixture(cfg, task, replay, agree, cfg.anneal_focus, max(replay))
    return trainer.train(mixed_batches(pools, cfg.train.batch_size, cfg.anneal_steps, rng), cfg.anneal_steps,
                         desc="annealing", lr=cfg.anneal_lr, min_lr_ratio=0.0)


def saved_data(rundir: RunDir, cfg: Config, frontier: int) -> tuple[dict[int, list[Example]], dict[int, list[Example]]]:
    """A run's training data by length up to `frontier` (phase 1's pools, then each round's
    self-labels) and the held-out labels its rounds check (the supervised lengths' too,
    with check_supervised), as written to its directory."""
    replay = {d: rundir.read_examples(f"phase1_len{d:02d}") for d in range(1, cfg.supervised_digits + 1)}
    self_trained = range(cfg.supervised_digits + 1, frontier + 1)
    replay |= {d: rundir.read_examples(f"self_len{d:02d}") for d in self_trained}
    checked = range(1, frontier + 1) if cfg.check_supervised else self_trained
    return replay, {d: rundir.read_examples(f"holdout_len{d:02d}") for d in checked}


def held_out_agreement(world: World, model: Model, holdout: dict[int, list[Example]],
                       decode_kw: dict) -> dict[int, float]:
    """Per length, the share of held-out self-labels that FAST reproduces, each rank
    decoding its shard: the same shares on every rank."""
    counts = world.gather([agreement(model, {d: world.shard(exs) for d, exs in holdout.items()}, **decode_kw)])
    totals = {d: [sum(c[d][i] for c in counts) for i in (0, 1)] for d in holdout}
    return {d: hits / n for d, (hits, n) in totals.items() if n}


def label_record(lab: Label) -> dict:
    """A self-label as written to disk: what the model said and why it was kept or not."""
    return {"problem": str(lab.problem), "label": None if lab.label is None else str(lab.label),
            "candidates": [None if c is None else str(c) for c in lab.candidates],
            "fast": None if lab.fast is None else str(lab.fast), "votes": lab.votes,
            "twin_label": None if lab.twin is None or lab.twin.label is None else str(lab.twin.label),
            "accepted": lab.accepted, "reason": lab.reason}


def log_scalars(tb, metrics: list[dict], progress: list[dict], step: int) -> None:
    """TensorBoard scalars (`tensorboard --logdir DIR/tb`), keyed by optimizer step; flushed
    with each checkpoint, so that a crash loses none that the run directory keeps."""
    for m in metrics:
        tb.add_scalar(f"{m['mode']}/{m['digits']:02d}_digits", m["accuracy"], step)
    for p in progress:
        if "loss" in p:
            tb.add_scalar("train/loss", p["loss"], step)
        if p.get("unit") == "round":
            tb.add_scalar("round/acceptance", p["acceptance"], step)
            for method, err in p["label_error"].items():
                if err is not None:
                    tb.add_scalar(f"round/error_{method}", err, step)
    tb.flush()


def self_training(session: Session) -> str:
    """Phase 2: rounds until one's labels fail, max_rounds, or the time budget; then the
    anneal. Returns why the rounds stopped."""
    cfg, state = session.cfg, session.state
    labeller, filters = make_labeller(cfg), make_filters(cfg)
    replay, holdout = saved_data(session.rundir, cfg, state.frontier)
    stop = state.stop_reason  # labels that failed end a run for good; limits are checked afresh on resume
    agree: dict[int, float] | None = None  # FAST against the held-out labels, as last checked
    last_round_s = 0.0  # this process's last round, for the time budget
    while stop is None:
        if state.round >= cfg.max_rounds:
            stop = f"max_rounds ({cfg.max_rounds}) reached"
        elif not session.fits(last_round_s):
            stop = f"time budget ({cfg.time_budget_min:g} min) spent"
        else:
            began = time.perf_counter()
            stop, agree = self_training_round(session, labeller, filters, replay, holdout, agree)
            last_round_s = time.perf_counter() - began
    if cfg.anneal_steps and not state.annealed:
        anneal_run(session, replay, holdout, agree)
    return stop


def self_training_round(session: Session, labeller: Labeller, filters: list[Filter],
                        replay: dict[int, list[Example]], holdout: dict[int, list[Example]],
                        agree: dict[int, float] | None) -> tuple[str | None, dict[int, float]]:
    """One round: label the lengths past the frontier; if too few labels survive, stop the
    run; else train on them (`self_train`), add them to `replay` and `holdout`, evaluate and
    checkpoint. `agree` is FAST's agreement with the held-out labels where the last round left
    it (None: not yet checked by this process). Returns why the run stops (None: it goes on)
    and the agreement as this round leaves it."""
    cfg, state, trainer, rundir, log = session.cfg, session.state, session.trainer, session.rundir, session.log
    r = state.round + 1
    t0 = time.perf_counter()
    if agree is None:
        agree = session.check(holdout)
    first_check_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels, fired, acceptance, lengths = label_round(trainer.model, session.task, labeller, filters, cfg,
                                                     state.frontier, session.world)
    label_s = time.perf_counter() - t0
    rundir.write_rows(f"labels/round_{r:03d}.jsonl", [label_record(lab) for lab in labels])
    quality, truth = session.evaluator.label_quality(labels)  # post hoc, reported only
    rundir.write_rows(f"labels/round_{r:03d}.eval.jsonl", truth)
    # Acceptance and label error over the lengths the round keeps; a stop reports the failed one.
    counted = [lab for lab in labels if lab.problem.digits in lengths] or labels
    scored = [q for q in quality if q["digits"] in lengths] or quality
    row = {"unit": "round", "round": r, "digits": max(acceptance), "lengths": lengths,
           "acceptance": sum(lab.accepted for lab in counted) / len(counted),
           "acceptance_by_length": {str(d): a for d, a in acceptance.items()}, "filters": fired,
           "label_s": label_s, "label_error": label_error(scored)}
    metrics = [{"phase": "self", "round": r, **q} for q in quality]
    shown = " ".join(f"{d}:{a:.2f}" for d, a in acceptance.items())
    if not lengths:
        state.stop_reason = (f"acceptance {acceptance[state.frontier + 1]:.2f} < {cfg.stop_acceptance} "
                             f"at {state.frontier + 1} digits in round {r}")
        log(f"round {r:2d} | acceptance {shown} | stop: {state.stop_reason}")
        session.save(f"round_{r:03d}_stopped", metrics=metrics, progress=[{**row, "stopped": True}])
        return state.stop_reason, agree

    fresh = store_round_labels(rundir, session.task, cfg, labels, lengths, holdout)
    new = [ex for exs in fresh.values() for ex in exs]
    digits = lengths[-1]
    t1 = time.perf_counter()
    stats = self_train(trainer, new, replay, cfg, session.task, digits, rng_for(cfg.seed, "train", r), agree,
                       lambda: session.check(holdout), out_of_time=lambda: not session.fits(0.0))
    check_s = first_check_s + time.perf_counter() - t1 - stats["train_s"]
    replay |= fresh
    state.round, state.frontier, state.annealed = r, digits, False

    t2 = time.perf_counter()
    evaluated = range(1, digits + cfg.eval_beyond + 1)
    # The full SLOW chain costs n steps a problem (85% of this evaluation at 34 digits):
    # only the new length and those past it, each length's chain is scored as it comes.
    metrics += session.evaluate("self", r, evaluated, cfg.eval_problems, slow_lengths=range(digits, evaluated.stop))
    eval_s = time.perf_counter() - t2
    row.update(digits=digits, train_s=stats["train_s"], check_s=check_s, eval_s=eval_s, loss=stats["loss"],
               steps=stats["steps"], checks=stats["checks"], cut_by_budget=stats["cut"], examples=len(new),
               tokens_per_s=stats["tokens_per_s"])
    fast_new = next(m["accuracy"] for m in metrics if m["mode"] == "fast" and m["digits"] == digits)
    worst = min(stats["checks"][-1]["agreement"].values(), default=None)
    log(f"round {r:2d} | {lengths[0]}..{digits} digits | acceptance {shown} | label error "
        f"{_fmt(row['label_error']['label_accepted'])} | {stats['steps']} steps"
        f"{' (cut by the time budget)' if stats['cut'] else ''}, worst agreement "
        f"{_fmt(worst)} | FAST@{digits} {fast_new:.2f} | "
        f"label {label_s:.0f}s train {stats['train_s']:.0f}s check {check_s:.0f}s eval {eval_s:.0f}s")
    session.save(f"round_{r:03d}", metrics=metrics, progress=[row])
    return None, stats["agreement"]


def anneal_run(session: Session, replay: dict[int, list[Example]], holdout: dict[int, list[Example]],
               agree: dict[int, float] | None) -> None:
    """The run's last training (`anneal`), between two checks of FAST against the held-out
    labels, and its checkpoint."""
    cfg, state = session.cfg, session.state
    t0 = time.perf_counter()
    before = agree if agree is not None else session.check(holdout)
    stats = anneal(session.trainer, replay, cfg, session.task, rng_for(cfg.seed, "anneal", 0), before)
    after = session.check(holdout)
    state.annealed = True
    worst = {name: min(a.values(), default=None) for name, a in (("before", before), ("after", after))}
    session.log(f"annealed | {stats['steps']} steps, lr {cfg.anneal_lr:g} to 0 | worst held-out agreement "
                f"{_fmt(worst['before'])} -> {_fmt(worst['after'])} | {stats['wall_s']:.0f}s")
    session.save("annealed", progress=[{"unit": "anneal", "steps": stats["steps"], "loss": stats["loss"],
                                        "train_s": stats["wall_s"], "tokens_per_s": stats["tokens_per_s"],
                                        "agreement_before": {str(d): a for d, a in before.items()},
                                        "agreement_after": {str(d): a for d, a in after.items()},
                                        "wall_s": time.perf_counter() - t0}])


# -- the whole run --------------------------------------------------------------------------

def run(cfg: Config | None, out: str, resume: bool = False, changes: dict[str, object] | None = None,
        log: Log = print) -> dict:
    """Run (or resume) SECToR into the directory `out`; returns the summary. On resume the
    run's own config is used, with `changes` (keys of config.RESUME_SETTINGS) applied and
    recorded in config.json and state.json."""
    session, oracle = open_session(cfg, out, resume, changes or {}, log)
    if not session.state.phase1_done:
        supervised_phase(session, oracle)
    stop = self_training(session)
    summary = finish(session, stop)
    session.close()
    return summary


def open_session(cfg: Config | None, out: str, resume: bool, changes: dict[str, object],
                 log: Log) -> tuple[Session, Oracle]:
    """The run directory created (or reopened, with the model and optimizer of its latest
    checkpoint), the precisions settled, and the task's answer function for phase 1."""
    changed = {}
    if resume:
        cfg, changed = _resumed_config(out, changes)
    else:
        cfg.validate()
    world = init_world(resolve_device(cfg))
    settled_now = settle_precisions(cfg, world)
    if resume:
        changed |= settled_now
    if not world.is_main:
        log = _silent
    task, oracle = get_task(cfg.task)
    model = init_model(cfg)  # before the run directory exists: a model that fails to load leaves none
    if world.is_main and not resume:
        RunDir.create(out, cfg.to_dict())
    world.barrier()
    rundir = RunDir.open(out, writable=world.is_main)
    trainer = Trainer(model, cfg.train, world)
    state = LoopState()
    if rundir.state:
        state = _saved_state(rundir)
        ckpt = rundir.latest_checkpoint()
        model.load_state_dict(load_checkpoint(ckpt).state_dict())
        load_optimizer(trainer.optimizer, ckpt / "optimizer.safetensors")
        trainer.step = state.trainer_step
        log(f"resumed {out} from {ckpt.name}")
    if changed:
        state.resumed_with.append({"round": state.round, "changed": changed})
        rundir.write_json("config.json", cfg.to_dict())
        if rundir.state:  # recorded now, for a run that has nothing left to checkpoint
            rundir.update_state(asdict(state))
        log("changed on resume: " + ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items()))
    # Rows written after the last checkpoint belong to an unfinished unit: drop them.
    rundir.truncate_rows("metrics.jsonl", state.metrics_rows)
    rundir.truncate_rows("progress.jsonl", state.progress_rows)
    started = time.time() - state.wall_s
    # Measurement decodes in float32 whatever the labels decode in, as `sector eval` does.
    evaluator = Evaluator(task, oracle, {**decode_settings(cfg), "bf16": False})
    if not resume:
        log(f"sector run | preset {cfg.preset} | model {cfg.model} ({num_parameters(model) / 1e6:.2f}M params) | {out}")
    tb = SummaryWriter(str(rundir.path / "tb")) if rundir.writable else None
    session = Session(cfg=cfg, world=world, task=task, rundir=rundir, trainer=trainer, state=state,
                      evaluator=evaluator, started=started, log=log, tb=tb)
    return session, oracle


def finish(session: Session, stop: str) -> dict:
    """The final evaluation on fresh problems, and the summary. (Its rows follow the last
    checkpoint, so a resumed run drops them and evaluates again.)"""
    cfg, state, rundir = session.cfg, session.state, session.rundir
    final = session.evaluate("final", state.round, range(1, state.frontier + cfg.eval_beyond + 1),
                             cfg.final_eval_problems, slow_lengths=range(0))  # FAST alone decides the frontier
    rundir.append_rows("metrics.jsonl", final)
    reached = frontier_of(final)
    summary = {"frontier": reached, "frontier_accuracy": FRONTIER_ACCURACY, "trained_to": state.frontier,
               "rounds": state.round, "wall_s": time.time() - session.started, "stop_reason": stop,
               "phase1_steps": state.phase1_steps, "phase1_gate_met": state.gate_met,
               "checkpoint": str(rundir.latest_checkpoint().relative_to(rundir.path))}
    rundir.write_json("summary.json", summary)
    session.log(f"done | frontier {reached} (FAST >= {FRONTIER_ACCURACY:.0%} on 1..{reached}) | {state.round} "
                f"rounds | {summary['wall_s'] / 60:.1f} min | {stop}")
    return summary


def _resumed_config(out: str, changes: dict[str, object]) -> tuple[Config, dict[str, list]]:
    """The run's own config with `changes` applied, and what they changed."""
    try:
        cfg = Config.from_saved(RunDir.open(out).config)
    except (ValueError, TypeError) as e:
        raise RunError(f"{out}/config.json: {e}") from None
    try:
        fixed = set(changes) - set(RESUME_SETTINGS)
        if fixed:
            raise ValueError(f"a run under way cannot change {', '.join(sorted(fixed))} "
                             f"(it may change {', '.join(RESUME_SETTINGS)})")
        changed = apply_settings(cfg, changes)
        cfg.validate()
    except ValueError as e:
        raise RunError(f"resuming {out}: {e}") from None
    return cfg, changed


def _saved_state(rundir: RunDir) -> LoopState:
    try:
        return LoopState(**{k: v for k, v in rundir.state.items() if k != "checkpoint"})
    except TypeError as e:
        raise RunError(f"{rundir.path}/state.json: {e}") from None


def _silent(_: str) -> None:
    """The log of ranks other than 0."""


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"
