"""Run configuration: one dataclass, and named presets that override it."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import get_origin, get_type_hints

from sector.labelling import FILTERS, LABELLERS
from sector.training import TrainConfig


@dataclass
class Config:
    preset: str = "default"
    task: str = "addition"
    model: str = "scratch"  # a size preset from sector.model, or a directory with a pretrained T5/ByT5
    seed: int = 0
    device: str = "auto"  # auto (cuda when there is one) | cpu | cuda
    # Phase 1: supervised curriculum over 1..supervised_digits.
    supervised_digits: int = 6
    curriculum_start: int = 2  # the first stage trains lengths 1..curriculum_start
    pool_per_length: int = 20000  # ground-truth problems per length, stored and later replayed
    mixed_share: float = 0.2  # problems (phase 1 and rounds) with one operand shorter, zero-padded
    stage_steps: int = 400  # steps between two checks of the gate
    phase1_max_steps: int = 10000  # the gate passed 1..6 at 8,400 in session 6's reference run
    gate_accuracy: float = 0.95  # FAST and the SLOW step, on every length so far
    gate_problems: int = 100  # held-out problems per length for the gate
    slow_pad_to: int = 0  # >0: half the SLOW steps written with leading zeros up to this width
    # After the gate (passed or not), this many steps on the rounds' own mixture (phase-1 pools with SLOW
    # steps widened, replay_pad_ahead; the rounds' copy task), so that round 1 labels with a
    # step that has copied operands as long as its own. On two runs' phase-1 models, 200 such
    # steps lifted round 1's acceptance from 0.778 and 0.873 to 0.943 and 0.971 (mixed-length
    # problems: 0.28 and 0.49 to 0.79 and 0.97); 200 more steps of phase 1's own mixture
    # gave 0.887 and 0.848 (bench/bridge_probe.py, from a fresh optimizer; docs/RESULTS.md,
    # session 24).
    bridge_steps: int = 200
    # Phase 2: self-training rounds.
    max_rounds: int = 30
    # >0: start no round that, at the last round's pace, would end after this many minutes
    # (phase 1 included); the anneal and the final evaluation come after it.
    time_budget_min: float = 0.0
    round_lengths: int = 1  # lengths self-labelled per round (the paper: 1; see label_round)
    round_problems: int = 1200  # per length
    # A round trains in chunks of round_steps until FAST agrees with held-out self-labels on
    # the round's new length at round_agreement and on every earlier one at
    # earlier_agreement, or round_max_steps is spent. The earlier lengths' floor is lower
    # because the check reads the worst of 20-30 samples of 100 labels: at 0.97 it sent
    # rounds back for 0.94-0.96 on one length that the next check read at 0.98 or more
    # (docs/RESULTS.md, sessions 6 and 16).
    round_steps: int = 200
    round_max_steps: int = 1200
    # A round's chunks peak at this learning rate (0: train.lr). Post hoc on three rounds of
    # a seed that forgot lengths just learned, 3e-4 settled them in 200-400 steps where 1e-3
    # took 400-1,200 (docs/RESULTS.md, session 20); over 15 rounds of a whole run it trained
    # faster but accepted under 0.80 in four of them (session 21), so the presets keep 0.
    round_lr: float = 0.0
    round_agreement: float = 0.97
    earlier_agreement: float = 0.94
    holdout_labels: int = 100  # accepted labels per round kept out of training, for that check
    # The check covers the supervised lengths too, on phase-1 problems held out of its pools:
    # without it FAST slipped to 0.97 on 4 and 6 digits unseen (docs/RESULTS.md, session 12).
    check_supervised: bool = True
    # Rounds: half the replayed SLOW steps written with leading zeros, as wide as the round's
    # length + this at most (0: none), so the step copies operands longer than any it has
    # reduced (without it, a step at n+1 wrote the n-digit operand it was trained on).
    # 6 held acceptance >= 0.82 in every round of a whole run, but its rounds took 1.5x the
    # training time and it reached 29 digits in 2 hours (docs/RESULTS.md, session 25).
    replay_pad_ahead: int = 3
    # Of those widened steps, this share sits under a sampled mixed-length problem's digits
    # instead of zeros: one operand full, the other ending in a run of zeros. A step of that
    # shape miscounts long runs of zeros, and the three rounds of sessions 19-20 that accepted
    # under 0.80 did so on their mixed-length problems alone (equal lengths: 0.87-0.91;
    # docs/RESULTS.md, session 21). 0: zeros only (runs made before it); the default preset: 0.5.
    replay_pad_mixed: float = 0.0
    # After the last round: this many steps over all the run's data, the learning rate from
    # anneal_lr down to 0 (loop.anneal). 0: none.
    anneal_steps: int = 400
    anneal_lr: float = 3e-4
    anneal_focus: float = 0.0  # the anneal's replay by held-out disagreement, as replay_focus in a round
    labeller: str = "sng"  # a name in sector.labelling.LABELLERS: sng | chain | fast
    sng_k: int = 5
    chain_k: int = 3
    # "split" (labelling.SplitCheck) also asks FAST for the low and high halves apart: post hoc
    # on session 18's run it rejected 9 of its 11 wrong labels and 1.6% of the right ones,
    # but a 15-round partial run with it still let 3 of 17,450 through (docs/RESULTS.md);
    # the default preset has it since session 19.
    filters: tuple[str, ...] = ("commutativity",)
    stop_acceptance: float = 0.5  # stop when fewer labels than this survive the filters
    # The training mixture (relative weights).
    new_weight: float = 0.4  # this round's self-labels
    replay_weight: float = 0.3  # earlier data, spread over the lengths seen ...
    replay_focus: float = 10.0  # ... each length's share x (1 + this x its held-out disagreement)
    copy_weight: float = 0.3  # the generic copy task (phase 1: the rest is split over lengths)
    copy_max_len: int = 32  # phase 1; a round copies up to max(this, 2 * (its length + copy_ahead) + 2)
    copy_ahead: int = 6
    copy_runs: float = 0.5  # copy strings with a span of one repeated symbol (zero-padded operands)
    copy_repeat: float = 0.2  # rounds: each copied character repeats the one before with this probability
    copy_min_share: float = 0.5  # rounds: copy strings this share of the longest one or longer
    copy_problems: float = 0.5  # rounds: this share of the copying is of problems with a zero-padded operand
    # Evaluation (ground truth; reported, never used to choose data).
    eval_problems: int = 100
    eval_beyond: int = 2  # evaluate lengths up to frontier + eval_beyond
    final_eval_problems: int = 1000
    decode_batch: int = 512
    # fp32 | bf16 (a bfloat16 copy of the weights) | auto: bf16 where a bf16 matmul beats
    # float32 here (training.faster_precision: a CPU with bf16 units), else fp32. On an AMX
    # Xeon bf16 labelled 1.2-1.8x faster with 97-99% of labels as in float32, and a whole run
    # with it reached 37 digits with 3 wrong of 32,287 accepted labels (docs/RESULTS.md,
    # sessions 22-23); CPUs without bf16 units emulate it, far slower. A run records what
    # auto chose.
    decode_precision: str = "auto"
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        d, train = dict(d), dict(d.get("train", {}))
        if "bf16" in train:  # runs made before train.precision replaced it
            train["precision"] = "bf16" if train.pop("bf16") else "fp32"
        if "decode_bf16" in d:  # runs made before decode_precision replaced it
            d["decode_precision"] = "bf16" if d.pop("decode_bf16") else "fp32"
        for owner, keys, given in ((cls, set(d), "config"), (TrainConfig, set(train), "train config")):
            unknown = keys - {f.name for f in fields(owner)}
            if unknown:
                raise ValueError(f"unknown {given} keys: {', '.join(sorted(unknown))}")
        d["train"] = TrainConfig(**train)
        if "filters" in d:
            d["filters"] = tuple(d["filters"])
        return cls(**d)

    @classmethod
    def from_saved(cls, d: dict) -> "Config":
        """A run's recorded config: fields added since it was made take the value that
        reproduces how it ran, so a resumed run goes on as it began."""
        before_session_17 = {"earlier_agreement": d.get("round_agreement", cls.round_agreement)}
        return cls.from_dict({**ADDED_SINCE_RUNS_WERE_MADE, **before_session_17, **d})

    def validate(self) -> None:
        """Raise ValueError naming the first bad value."""
        t = self.train
        at_least_one = ("pool_per_length", "stage_steps", "phase1_max_steps", "gate_problems",
                        "round_lengths", "round_problems", "round_steps", "round_max_steps", "sng_k", "chain_k",
                        "copy_max_len", "eval_problems", "final_eval_problems", "decode_batch")
        checks = [(getattr(self, name) >= 1, f"{name} must be >= 1") for name in at_least_one]
        checks += [(getattr(self, name) >= 0, f"{name} must be >= 0")
                   for name in ("seed", "max_rounds", "time_budget_min", "slow_pad_to", "bridge_steps",
                                "holdout_labels", "replay_pad_ahead", "anneal_steps", "copy_ahead", "eval_beyond",
                                "replay_focus", "anneal_focus", "new_weight", "replay_weight")]
        checks += [(0 <= getattr(self, name) <= 1, f"{name} must be in [0, 1]")
                   for name in ("mixed_share", "gate_accuracy", "round_agreement", "earlier_agreement",
                                "stop_acceptance", "copy_runs", "copy_repeat", "copy_min_share", "copy_problems",
                                "replay_pad_mixed")]
        checks += [
            (0 <= self.copy_weight < 1, "copy_weight must be in [0, 1)"),
            (2 <= self.supervised_digits, "supervised_digits must be >= 2"),
            (1 <= self.curriculum_start <= self.supervised_digits, "curriculum_start must be in 1..supervised_digits"),
            (self.round_max_steps >= self.round_steps, "round_max_steps must be >= round_steps"),
            (self.device in ("auto", "cpu", "cuda"), f"unknown device {self.device!r} (auto, cpu, cuda)"),
            (self.labeller in LABELLERS, f"unknown labeller {self.labeller!r} ({', '.join(LABELLERS)})"),
            (set(self.filters) <= set(FILTERS), f"unknown filter in {self.filters} ({', '.join(FILTERS)})"),
            (t.lr > 0 and 0 <= t.min_lr_ratio <= 1, "train.lr must be > 0 and train.min_lr_ratio in [0, 1]"),
            (self.anneal_lr > 0 and self.round_lr >= 0, "anneal_lr must be > 0 and round_lr >= 0"),
            (t.batch_size >= 1 and t.micro_batches >= 0, "train.batch_size must be >= 1, train.micro_batches >= 0"),
            (t.warmup_steps >= 0 and t.weight_decay >= 0 and t.grad_clip > 0,
             "train.warmup_steps and train.weight_decay must be >= 0, train.grad_clip > 0"),
            (t.precision in ("auto", "fp32", "bf16"), f"unknown precision {t.precision!r} (auto, fp32, bf16)"),
            (self.decode_precision in ("auto", "fp32", "bf16"),
             f"unknown decode_precision {self.decode_precision!r} (auto, fp32, bf16)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


# The round's copy task before session 9 (repeat, min share) and session 10 (problems); the
# replay's SLOW steps before session 12 (padding); the rounds' check and the anneal before
# session 13; decoding and phase 1's bridge before session 24.
ADDED_SINCE_RUNS_WERE_MADE = {"copy_repeat": 0.0, "copy_min_share": 0.0, "copy_problems": 0.0,
                              "replay_pad_ahead": 0, "check_supervised": False, "anneal_steps": 0,
                              "decode_precision": "fp32", "bridge_steps": 0}

PRESETS: dict[str, dict] = {
    # Every stage of the loop in minutes: 1..3 digits supervised, then rounds at 4 and 5.
    # Too little training to self-label well, so it never stops early: it shows the
    # machinery and its statistics, not reach (that is the default preset's job).
    "smoke": dict(
        supervised_digits=3, curriculum_start=3, pool_per_length=4000, stage_steps=500, slow_pad_to=0,
        phase1_max_steps=2500, gate_problems=50, max_rounds=2, round_problems=300,
        round_steps=200, round_max_steps=200, holdout_labels=30, anneal_steps=100, stop_acceptance=0.0,
        copy_max_len=16, eval_problems=50, final_eval_problems=200, train=dict(batch_size=64, warmup_steps=50),
    ),
    # Tests: a tiny model, seconds per unit; it learns little and that is fine. Float32 set,
    # not probed: two runs that a test compares must not time their way to different choices.
    "test": dict(
        model="tiny", supervised_digits=2, curriculum_start=2, pool_per_length=200, stage_steps=5, slow_pad_to=4,
        phase1_max_steps=10, bridge_steps=2, gate_problems=8, max_rounds=2, round_problems=8, round_steps=2,
        round_max_steps=4, holdout_labels=2, anneal_steps=2,
        sng_k=2, stop_acceptance=0.0, copy_max_len=8, eval_problems=4, eval_beyond=1,
        final_eval_problems=4, decode_precision="fp32", train=dict(batch_size=8, warmup_steps=2, precision="fp32"),
    ),
    # The 2-hour target on 2 CPU cores; docs/RESULTS.md has the runs behind each choice.
    # - Rounds start until 107 minutes at the rounds' pace (the anneal and the final
    #   evaluation take about 9 more at 40 digits); up to 40 rounds, so the budget ends a run.
    # - 50 problems a length in each round's evaluation: 100 took 19% of a round at 22 digits.
    # - Float32 and a compiled step: bf16 autocast gained 1.10x on an AMX Xeon; compiling,
    #   1.25x on an AVX2 EPYC.
    # - One length a round: with two, accepted-label error grew to 4% by 15 digits.
    # - Phase 1 trains all of 1..6 from its first step: its gate passed at 4,400-4,800 steps
    #   instead of a curriculum's 8,400.
    # - A round's check asks 0.96 of the new length and 0.93 of earlier ones: each reads 100
    #   held-out labels, whose noise alone (sd ~0.015) sent rounds back for hundreds of steps.
    # - An 800-step anneal: 400 more lifted FAST at the newest lengths by about 0.01.
    # - The split check beside the twin: post hoc it rejected 9 of a run's 11 wrong labels.
    # - Half the widened replay under mixed-length digits: the rounds that accepted under
    #   0.80 did so on mixed-length problems; its effect is not shown either way (two seeds).
    # Four runs (sessions 19-22, a 2-core AMX Xeon): frontier 34-42 in 115-125 minutes.
    "default": dict(time_budget_min=107, max_rounds=40, eval_problems=50, curriculum_start=6,
                    round_agreement=0.96, earlier_agreement=0.93, anneal_steps=800, replay_pad_mixed=0.5,
                    filters=("commutativity", "split"), train=dict(compile=True, precision="fp32")),
    # Subtraction, whose FAST lags far behind its SLOW step: supervised 1..3, then labels
    # voted over FAST where 1..3 digits remain (the chain labeller), kept from 30% acceptance
    # up, for 8 rounds (a count, not a time budget: machines here differ 2x in speed). From
    # scratch (session 8, docs/RESULTS.md): trained to 11 digits, all 7,079 accepted labels
    # right, FAST 0.97-1.00 on every length 1..11; 72 minutes on a 2-core AVX2 machine.
    "subtraction": dict(task="subtraction", supervised_digits=3, phase1_max_steps=4400, labeller="chain",
                        stop_acceptance=0.3, round_max_steps=600, max_rounds=8),
}


# The default preset on CUDA. A step of this model waits on kernel launches, so 256
# examples cost what 64 do (H200 shared by 2-3 runs: 44-47 ms/step at 64, 256 and 512), and
# phase 1 passed its gate in half the steps (session 11, on that session's default). One
# decode chunk holds a round's labelling. Eager: compiling on CUDA is unmeasured. On a CPU a
# step would cost 4x, so the preset asks for CUDA and fails loudly without it.
PRESETS["gpu"] = {**PRESETS["default"], "device": "cuda", "decode_batch": 4096,
                  "train": {**PRESETS["default"]["train"], "batch_size": 256, "compile": False}}


def parse_setting(text: str) -> tuple[str, object]:
    """`KEY=VALUE` from the command line (`train.KEY` for a TrainConfig field), with VALUE read
    as JSON where it parses and as a string otherwise, and checked against the field's type.
    Raises ValueError with a one-line reason."""
    key, sep, raw = text.partition("=")
    owner, _, name = key.rpartition(".")
    cls = {"": Config, "train": TrainConfig}.get(owner)
    known = {f.name: f for f in fields(cls)} if cls else {}
    if not sep or name not in known or name == "train":
        raise ValueError(f"--set {text!r}: expected KEY=VALUE with KEY a config field (see config.json of a run)")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    declared = get_type_hints(cls)[name]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if get_origin(declared) is tuple:
        ok, value = isinstance(value, list), tuple(value) if isinstance(value, list) else value
    else:
        ok = {bool: isinstance(value, bool), int: number and isinstance(value, int), float: number,
              str: isinstance(value, str)}[declared]
        value = float(value) if ok and declared is float else value
    if not ok:
        raise ValueError(f"--set {key}: expected {getattr(declared, '__name__', declared)}, got {raw!r}")
    return key, value


# What `sector run --resume` may change: the run's limits and how it computes, never its
# data, model or rules. The case in point: a run begun on a CPU goes on on a GPU, with the
# larger batch a GPU takes at the same cost a step (docs/RESULTS.md, session 15), or on a
# CPU that emulates the bf16 its first machine chose.
RESUME_SETTINGS = ("max_rounds", "time_budget_min", "device", "decode_batch", "decode_precision",
                   "train.batch_size", "train.micro_batches", "train.compile", "train.precision")


def apply_settings(cfg: Config, settings: dict[str, object]) -> dict[str, list]:
    """Set each `KEY: value` (`train.KEY` for a TrainConfig field) on `cfg` in place; returns
    the settings that changed, as `{KEY: [old, new]}`."""
    changed = {}
    for key, value in settings.items():
        owner, _, name = key.rpartition(".")
        target = cfg.train if owner else cfg
        if getattr(target, name) != value:
            changed[key] = [getattr(target, name), value]
            setattr(target, name, value)
    return changed


def preset(name: str, **overrides) -> Config:
    """The named preset with `overrides` applied (raises KeyError for an unknown name)."""
    base = dict(PRESETS[name])
    train = {**base.pop("train", {}), **overrides.pop("train", {})}
    return Config.from_dict({**base, **overrides, "preset": name, "train": train})
