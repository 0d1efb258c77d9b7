"""The bookkeeping of a run under way, kept apart from the method (sector/method.py).

An `Experiment` holds what the stages share: the config, the model's trainer, the run
directory, what is finished (`RunState`), the ground-truth evaluator, the log and
TensorBoard. The method hands it a record of each unit of work (`Phase1Check`,
`RoundRecord`, ...) and it writes the rows, the log line, the scalars and the checkpoint.

Every unit ends with a checkpoint and a state.json that says what is done, so a killed run
resumes from its last finished unit: `open_experiment(..., resume=True)`.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import zlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter

from sector.config import RESUME_SETTINGS, Config
from sector.decoding import agreement
from sector.distributed import World, init_world
from sector.evaluate import FRONTIER_ACCURACY, Evaluator, frontier_of, strict_frontier, worst_suite
from sector.labelling import Label
from sector.model import MODEL_PRESETS, Model, build_model, num_parameters
from sector.report import write_report
from sector.rundir import RunDir, RunError, load_model, load_optimizer
from sector.tasks import Oracle, Task, get_task
from sector.training import Example, Trainer, faster_precision

Log = Callable[[str], None]


@dataclass
class RunState:
    """What is finished. Saved with every checkpoint; enough to resume exactly."""

    phase1_done: bool = False
    stage_length: int = 0  # phase 1 trains lengths 1..stage_length
    phase1_steps: int = 0
    phase1_checks: int = 0
    gate_met: bool = False
    bridged: bool = False  # phase 1's last steps, on the rounds' mixture
    frontier: int = 0  # the longest length trained on, supervised or self-labelled
    round: int = 0
    stop_reason: str | None = None  # a round whose labels failed the acceptance rule
    metrics_rows: int = 0
    progress_rows: int = 0
    trainer_step: int = 0
    annealed: bool = False
    wall_s: float = 0.0
    last_round_s: float = 0.0  # the last round's wall time: the pace the time budget is checked at
    # Each resume that changed a setting: {"round": rounds done then, "changed": {KEY: [old, new]}}.
    resumed_with: list[dict] = field(default_factory=list)


# -- records of units of work ----------------------------------------------------------------

@dataclass
class Training:
    """What one stretch of training did (`Trainer.train` calls and the checks between them)."""

    loss: float
    steps: int
    train_s: float
    tokens_per_s: float
    checks: list[dict] = field(default_factory=list)  # {"steps", "agreement": {length: share}} after each chunk
    agreement: dict[int, float] = field(default_factory=dict)  # FAST against the held-out labels, last check
    cut_by_budget: bool = False


@dataclass
class LabelledBatch:
    """A round's self-labels: every label made, and the lengths whose acceptance passed."""

    labels: list[Label] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)  # how often each filter rejected a label
    acceptance: dict[int, float] = field(default_factory=dict)  # by length
    kept: list[int] = field(default_factory=list)

    def add(self, digits: int, labels: list[Label], fired: dict[str, int]) -> None:
        self.labels += labels
        self.fired = {k: self.fired.get(k, 0) + v for k, v in fired.items()}
        self.acceptance[digits] = sum(lab.accepted for lab in labels) / len(labels)


@dataclass
class Timed:
    """Seconds spent per part of a unit of work: `with record.timed("label"): ...`."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, part: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - t0


@dataclass
class Phase1Check(Timed):
    """One phase-1 stage: its training, then the gate on held-out problems."""

    lengths: int = 0
    training: Training | None = None
    gate: list[dict] = field(default_factory=list)  # accuracy rows, FAST and the SLOW step
    passed: bool = False


@dataclass
class RoundRecord(Timed):
    """One self-training round, as the method leaves it."""

    number: int = 0
    batch: LabelledBatch = field(default_factory=LabelledBatch)
    label_truth: list[dict] = field(default_factory=list)  # post hoc, per (method, length): reported only
    label_records: list[dict] = field(default_factory=list)  # post hoc, per label
    examples: int = 0
    training: Training | None = None
    metrics: list[dict] = field(default_factory=list)  # evaluation rows (ground truth, reported only)
    stop_reason: str | None = None


@dataclass
class AnnealRecord(Timed):
    """The anneal: its training, and by length the share of held-out labels FAST reproduces before and after."""

    training: Training | None = None
    agreement_before: dict[int, float] = field(default_factory=dict)
    agreement_after: dict[int, float] = field(default_factory=dict)


# -- the experiment ------------------------------------------------------------------------------

@dataclass
class Experiment:
    """A run under way in this process: what phase 1, the rounds and the anneal share. It holds
    no answer function: after phase 1 that reaches only `evaluator`, which reports."""

    cfg: Config
    world: World
    task: Task
    rundir: RunDir
    trainer: Trainer
    state: RunState
    evaluator: Evaluator
    started: float  # time.time() at the run's start, earlier processes' time counted
    log: Log
    tb: SummaryWriter | None  # rank 0's TensorBoard writer
    provenance: dict  # read when this process opened the run, so a commit made while it runs is not its own

    @property
    def model(self) -> Model:
        return self.trainer.model

    @property
    def decode_kw(self) -> dict:
        return decode_settings(self.cfg)

    def stream(self, kind: str, index: int) -> np.random.Generator:
        """The random stream of one unit of work (see `rng_for`)."""
        return rng_for(self.cfg.seed, kind, index)

    # -- measurement (decoding only: no training, no data) ----------------------------------
    def evaluate(self, phase: str, round_: int, lengths: range, count: int, slow_lengths: range = range(0),
                 family_count: int = 0) -> list[dict]:
        """The evaluator's suites (`Evaluator.suites`) on fresh problems drawn from this unit's
        own streams, each row tagged with the phase and round."""
        def stream(suite: str) -> np.random.Generator:
            return self.stream(f"eval-{phase}" if suite == "uniform" else f"eval-{phase}-{suite}", round_)

        rows = self.evaluator.suites(self.model, stream, lengths, count, slow_lengths, family_count)
        return [{"phase": phase, "round": round_, **r} for r in rows]

    def holdout_agreement(self, holdout: dict[int, list[Example]]) -> dict[int, float]:
        """Per length, the share of held-out labels that FAST reproduces, each rank decoding
        its shard: the same shares on every rank."""
        world = self.world
        counts = world.gather([agreement(self.model, {d: world.shard(exs) for d, exs in holdout.items()},
                                         **self.decode_kw)])
        totals = {d: [sum(c[d][i] for c in counts) for i in (0, 1)] for d in holdout}
        return {d: hits / n for d, (hits, n) in totals.items() if n}

    # -- limits -------------------------------------------------------------------------------
    def fits(self, next_round_s: float) -> bool:
        """Whether a round of `next_round_s` ends within the time budget: the same answer on
        every rank, and no collective without a budget."""
        budget = self.cfg.rounds.time_budget_min
        return not budget or self.world.broadcast(round_fits(time.time() - self.started, next_round_s, budget))

    def limit_reached(self) -> str | None:
        """Why no further round starts (max_rounds, or the time budget at the last round's pace)."""
        rounds = self.cfg.rounds
        if self.state.round >= rounds.max_rounds:
            return f"max_rounds ({rounds.max_rounds}) reached"
        if not self.fits(self.state.last_round_s):
            return f"time budget ({rounds.time_budget_min:g} min) spent"
        return None

    # -- records ------------------------------------------------------------------------------
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

    def record_phase1_check(self, check: Phase1Check) -> None:
        """A phase-1 stage's log line, progress row and checkpoint."""
        state, t = self.state, check.training
        worst = min(check.gate, key=lambda r: r["accuracy"])
        self.log(f"phase 1 | lengths 1..{check.lengths} | step {state.phase1_steps} | loss {t.loss:.3f}"
                 f" | worst {worst['mode']}@{worst['digits']} {worst['accuracy']:.2f}"
                 f" | gate {'passed' if check.passed else 'not yet'}")
        row = {"unit": "phase1", "check": state.phase1_checks, "lengths": check.lengths,
               "step": state.phase1_steps, "loss": t.loss, "gate_passed": check.passed,
               "gate": [{k: r[k] for k in ("mode", "digits", "accuracy")} for r in check.gate],
               "train_s": t.train_s, "tokens_per_s": t.tokens_per_s, "wall_s": sum(check.seconds.values())}
        self.save(f"phase1-{state.phase1_checks:03d}", progress=[row])

    def record_bridge(self, training: Training) -> None:
        """The bridge's log line, progress row and checkpoint."""
        width = self.cfg.phase1.digits + self.cfg.mixture.replay_pad_ahead
        self.log(f"phase 1 | {training.steps} steps of the rounds' mixture, SLOW steps up to {width} digits wide"
                 f" | loss {training.loss:.3f}")
        self.save("phase1-bridge", progress=[{
            "unit": "phase1-bridge", "steps": training.steps, "loss": training.loss, "train_s": training.train_s,
            "tokens_per_s": training.tokens_per_s, "wall_s": training.train_s}])

    def record_phase1_eval(self, rows: list[dict], seconds: float) -> None:
        """Phase 1's evaluation rows and the checkpoint that ends phase 1."""
        self.save("phase1", metrics=rows, progress=[{"unit": "phase1-eval", "wall_s": seconds}])

    def record_round(self, record: RoundRecord) -> None:
        """A round's label files (with their post-hoc truth), rows, log line and checkpoint (a
        stopped round's too). The truth is scored here, after the round: it never chooses."""
        r, batch, t = record.number, record.batch, record.training
        record.label_truth, record.label_records = self.evaluator.label_quality(batch.labels)
        self.rundir.write_rows(f"labels/round_{r:03d}.jsonl", [label_record(lab) for lab in batch.labels])
        self.rundir.write_rows(f"labels/round_{r:03d}.eval.jsonl", record.label_records)
        # Acceptance and label error over the lengths the round keeps; a stop reports the failed one.
        counted = [lab for lab in batch.labels if lab.problem.digits in batch.kept] or batch.labels
        scored = [q for q in record.label_truth if q["digits"] in batch.kept] or record.label_truth
        s = record.seconds
        row = {"unit": "round", "round": r, "digits": batch.kept[-1] if batch.kept else max(batch.acceptance),
               "lengths": batch.kept, "acceptance": sum(lab.accepted for lab in counted) / len(counted),
               "acceptance_by_length": {str(d): a for d, a in batch.acceptance.items()}, "filters": batch.fired,
               "label_s": s["label"], "label_error": label_error(scored),
               "by_family": by_family(record.label_records, batch.kept)}
        metrics = [{"phase": "self", "round": r, **q} for q in record.label_truth] + record.metrics
        shown = " ".join(f"{d}:{a:.2f}" for d, a in batch.acceptance.items())
        if record.stop_reason:
            self.log(f"round {r:2d} | acceptance {shown} | stop: {record.stop_reason}")
            self.save(f"round_{r:03d}_stopped", metrics=metrics, progress=[{**row, "stopped": True}])
            return
        row.update(train_s=t.train_s, check_s=s.get("check", 0.0) + s["train"] - t.train_s, eval_s=s["eval"],
                   loss=t.loss, steps=t.steps, checks=t.checks, cut_by_budget=t.cut_by_budget,
                   examples=record.examples, tokens_per_s=t.tokens_per_s)
        fast_new = next(m["accuracy"] for m in record.metrics if m["mode"] == "fast" and m["digits"] == row["digits"])
        worst = min(t.agreement.values(), default=None)
        self.log(f"round {r:2d} | {batch.kept[0]}..{row['digits']} digits | acceptance {shown} | label error "
                 f"{_fmt(row['label_error']['label_accepted'])} | {t.steps} steps"
                 f"{' (cut by the time budget)' if t.cut_by_budget else ''}, worst agreement {_fmt(worst)}"
                 f" | FAST@{row['digits']} {fast_new:.2f} | label {s['label']:.0f}s train {t.train_s:.0f}s"
                 f" check {row['check_s']:.0f}s eval {s['eval']:.0f}s")
        self.state.last_round_s = sum(s.values())
        self.save(f"round_{r:03d}", metrics=metrics, progress=[row])

    def record_anneal(self, record: AnnealRecord) -> None:
        """The anneal's log line, progress row and checkpoint."""
        t = record.training
        worst = {name: min(a.values(), default=None)
                 for name, a in (("before", record.agreement_before), ("after", record.agreement_after))}
        self.log(f"annealed | {t.steps} steps, lr {self.cfg.anneal.lr:g} to 0 | worst held-out agreement "
                 f"{_fmt(worst['before'])} -> {_fmt(worst['after'])} | {t.train_s:.0f}s")
        self.save("annealed", progress=[{"unit": "anneal", "steps": t.steps, "loss": t.loss, "train_s": t.train_s,
                                         "tokens_per_s": t.tokens_per_s,
                                         "agreement_before": {str(d): a for d, a in record.agreement_before.items()},
                                         "agreement_after": {str(d): a for d, a in record.agreement_after.items()},
                                         "wall_s": sum(record.seconds.values())}])

    def finish(self, stop: str) -> dict:
        """The final evaluation on fresh problems, and the summary. (Its rows follow the last
        checkpoint, so a resumed run drops them and evaluates again.)"""
        state, evals = self.state, self.cfg.eval
        # FAST alone decides the frontiers.
        final = self.evaluate("final", state.round, range(1, state.frontier + evals.beyond + 1), evals.final_problems,
                              family_count=evals.final_family_problems)
        self.rundir.append_rows("metrics.jsonl", final)
        reached, strict = frontier_of(final), strict_frontier(final)
        worst = worst_suite(final, max(reached, strict or 0, 1))
        summary = {"frontier": reached, "strict_frontier": strict, "frontier_accuracy": FRONTIER_ACCURACY,
                   "worst_suite": worst and {k: worst[k] for k in ("suite", "digits", "accuracy", "n")},
                   "trained_to": state.frontier,
                   "rounds": state.round, "wall_s": time.time() - self.started, "stop_reason": stop,
                   "phase1_steps": state.phase1_steps, "phase1_gate_met": state.gate_met,
                   "checkpoint": str(self.rundir.latest_checkpoint().relative_to(self.rundir.path)),
                   "provenance": self.provenance}
        self.rundir.write_json("summary.json", summary)
        self.log(f"done | frontier {reached} (FAST >= {FRONTIER_ACCURACY:.0%} on 1..{reached}), strict {strict} | "
                 f"{state.round} rounds | {summary['wall_s'] / 60:.1f} min | {stop}")
        return summary

    def close(self) -> None:
        """Flush TensorBoard, write the report (rank 0), and leave the process group."""
        if self.tb is not None:
            self.tb.close()
        if self.world.is_main:
            write_report(self.rundir)
        self.trainer.close()
        self.world.close()


def rng_for(seed: int, kind: str, index: int) -> np.random.Generator:
    """An independent stream per unit of work, so a resumed unit draws what it would have."""
    return np.random.default_rng([seed, zlib.crc32(kind.encode()), index])


def decode_settings(cfg: Config) -> dict:
    """`greedy`'s keyword arguments, for every decoding the run does (in float32 where
    decode_precision is still auto: `open_experiment` settles it first)."""
    return {"batch_size": cfg.compute.decode_batch, "bf16": cfg.compute.decode_precision == "bf16"}


def round_fits(elapsed_s: float, last_round_s: float, budget_min: float) -> bool:
    """Whether a round that takes as long as the last one ends within the time budget (0: none)."""
    return not budget_min or elapsed_s + last_round_s <= 60 * budget_min


def label_error(quality: list[dict]) -> dict[str, float | None]:
    """Per labelling method, the error over all of a round's lengths (rows from label_quality)."""
    totals: dict[str, list[int]] = {}
    for q in quality:
        t = totals.setdefault(q["mode"], [0, 0])
        t[0] += q["correct"]
        t[1] += q["n"]
    return {mode: 1 - correct / n if n else None for mode, (correct, n) in totals.items()}


def by_family(truth: list[dict], lengths: list[int]) -> dict[str, dict[str, int]]:
    """Per problem family, a round's labels on the lengths it keeps: how many, how many
    accepted, how many accepted and wrong (post hoc: reported, never used)."""
    counts: dict[str, dict[str, int]] = {}
    for t in truth:
        if t["digits"] in lengths or not lengths:
            c = counts.setdefault(t["family"], {"labels": 0, "accepted": 0, "accepted_wrong": 0})
            c["labels"] += 1
            c["accepted"] += t["accepted"]
            c["accepted_wrong"] += t["accepted"] and not t["label_correct"]
    return counts


def label_record(lab: Label) -> dict:
    """A self-label as written to disk: what the model said and why it was kept or not."""
    return {"problem": str(lab.problem), "label": None if lab.label is None else str(lab.label),
            "candidates": [None if c is None else str(c) for c in lab.candidates],
            "fast": None if lab.fast is None else str(lab.fast), "votes": lab.votes,
            "twin_label": None if lab.twin is None or lab.twin.label is None else str(lab.twin.label),
            "accepted": lab.accepted, "reason": lab.reason}


def log_scalars(tb: SummaryWriter, metrics: Sequence[dict], progress: Sequence[dict], step: int) -> None:
    """TensorBoard scalars (`tensorboard --logdir DIR/tb`), keyed by optimizer step; flushed
    with each checkpoint, so that a crash loses none that the run directory keeps."""
    for m in metrics:
        suite = m.get("suite", "uniform")
        tag = m["mode"] if suite == "uniform" else f"{m['mode']}_{suite}"
        tb.add_scalar(f"{tag}/{m['digits']:02d}_digits", m["accuracy"], step)
    for p in progress:
        if "loss" in p:
            tb.add_scalar("train/loss", p["loss"], step)
        if p.get("unit") == "round":
            tb.add_scalar("round/acceptance", p["acceptance"], step)
            for method, err in p["label_error"].items():
                if err is not None:
                    tb.add_scalar(f"round/error_{method}", err, step)
    tb.flush()


def provenance(device: torch.device) -> dict:
    """Where and with what a run is made: command, commit, machine, library versions, and the
    date (UTC) this process opened the run."""
    import safetensors
    import transformers

    import sector

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "commit": git_commit(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            # The CPU's name alone ("AMD EPYC") can hide a 1.5x difference in speed: its vector
            # instructions (AVX2, AVX512, ...) tell the machines apart.
            "machine": {"cpu": cpu, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                        "cores": os.cpu_count(), "platform": platform.platform(),
                        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None},
            "versions": {"sector": sector.__version__, "python": platform.python_version(),
                         "torch": torch.__version__, "transformers": transformers.__version__,
                         "safetensors": safetensors.__version__, "numpy": np.__version__}}


def git_commit() -> str | None:
    """The commit of the sector checkout that runs (with `-dirty` for uncommitted changes), or
    None for an installed copy that is not the root of its own checkout."""
    here = Path(__file__).parent
    try:
        root = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=here, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        if Path(root).resolve() != here.parent.resolve():
            return None
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


# -- opening a run -------------------------------------------------------------------------------

def resolve_device(cfg: Config) -> str:
    """The config's device, with auto settled; asking for CUDA where there is none raises RunError."""
    device = cfg.compute.device
    if device == "cuda" and not torch.cuda.is_available():
        raise RunError("device cuda: no CUDA device is available here (--device cpu runs on the CPU)")
    return device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")


def init_model(cfg: Config) -> Model:
    """A fresh model of a size preset, or the pretrained one in a directory (a checkpoint or a
    run's latest); a missing or corrupt one raises RunError."""
    name = cfg.model.name
    model = build_model(name, seed=cfg.seed) if name in MODEL_PRESETS else load_model(name)
    trained_on = getattr(model.config, "prompt_format", cfg.prompt_format)  # a pretrained ByT5 has none
    if trained_on != cfg.prompt_format:
        raise RunError(f"{name} was trained on {trained_on} prompts and this run writes {cfg.prompt_format} "
                       f"(--set prompt_format={trained_on})")
    model.config.prompt_format = cfg.prompt_format  # saved with every checkpoint: models read one format
    return model.to(resolve_device(cfg))


def settle_precisions(cfg: Config, world: World) -> dict[str, list]:
    """compute.train_precision and compute.decode_precision where they are auto, set in place
    from one probe (`training.faster_precision`) on rank 0, so every rank computes alike and
    config.json records the choice; returns what changed, as `{KEY: [old, new]}`."""
    auto = [key for key, value in (("compute.train_precision", cfg.compute.train_precision),
                                   ("compute.decode_precision", cfg.compute.decode_precision)) if value == "auto"]
    if not auto:
        return {}
    chosen = world.broadcast(faster_precision(resolve_device(cfg)) if world.is_main else None)
    return cfg.update(dict.fromkeys(auto, chosen))


def open_experiment(cfg: Config | None, out: str | Path, resume: bool, changes: dict[str, object],
                    log: Log) -> tuple[Experiment, Oracle]:
    """The run directory created (or reopened, with the model and optimizer of its latest
    checkpoint), the precisions settled, and the task's answer function for phase 1."""
    changed = {}
    if resume:
        cfg, changed = resumed_config(out, changes)
    else:
        try:
            cfg.validate()
        except ValueError as e:
            raise RunError(str(e)) from None
    world = init_world(resolve_device(cfg))
    settled_now = settle_precisions(cfg, world)
    if resume:
        changed |= settled_now
    if not world.is_main:
        log = _silent
    task, oracle = get_task(cfg.task, cfg.prompt_format)
    model = init_model(cfg)  # before the run directory exists: a model that fails to load leaves none
    if world.is_main and not resume:
        RunDir.create(out, cfg.to_dict())
    world.barrier()
    rundir = RunDir.open(out, writable=world.is_main)
    trainer = Trainer(model, cfg.train, cfg.compute, world)
    state = RunState()
    if rundir.state:
        state = saved_state(rundir)
        ckpt = rundir.latest_checkpoint()
        saved = load_model(ckpt)
        trained_on = getattr(saved.config, "prompt_format", "an unrecorded")
        if trained_on != cfg.prompt_format:  # a run begun before checkpoints recorded their format
            raise RunError(f"{ckpt} was trained on {trained_on} prompts and {out}/config.json says "
                           f"{cfg.prompt_format}: this version of sector cannot resume it")
        model.load_state_dict(saved.state_dict())
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
    evaluator = Evaluator(task, oracle, {**decode_settings(cfg), "bf16": False}, world)
    if not resume:
        log(f"sector run | preset {cfg.preset} | model {cfg.model.name} ({num_parameters(model) / 1e6:.2f}M params)"
            f" | {out}")
    tb = SummaryWriter(str(rundir.path / "tb")) if rundir.writable else None
    experiment = Experiment(cfg=cfg, world=world, task=task, rundir=rundir, trainer=trainer, state=state,
                            evaluator=evaluator, started=started, log=log, tb=tb,
                            provenance=provenance(trainer.device))
    return experiment, oracle


def resumed_config(out: str | Path, changes: dict[str, object]) -> tuple[Config, dict[str, list]]:
    """The run's own config with `changes` (keys of RESUME_SETTINGS) applied, and what they changed."""
    try:
        cfg = Config.from_dict(RunDir.open(out).config)
        cfg.validate()
    except (ValueError, TypeError) as e:
        raise RunError(f"{out}/config.json: {e}") from None
    try:
        fixed = set(changes) - set(RESUME_SETTINGS)
        if fixed:
            raise ValueError(f"a run under way cannot change {', '.join(sorted(fixed))} "
                             f"(it may change {', '.join(RESUME_SETTINGS)})")
        changed = cfg.update(changes)
        cfg.validate()
    except ValueError as e:
        raise RunError(f"resuming {out}: {e}") from None
    return cfg, changed


def saved_state(rundir: RunDir) -> RunState:
    """The RunState of the run's state.json; a key this version does not know raises RunError."""
    try:
        return RunState(**{k: v for k, v in rundir.state.items() if k != "checkpoint"})
    except TypeError as e:
        raise RunError(f"{rundir.path}/state.json: {e}") from None


def _silent(_: str) -> None:
    """The log of ranks other than 0."""


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"
