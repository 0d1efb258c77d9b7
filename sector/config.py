"""Run configuration: one dataclass per stage of the method, whose defaults are the default
preset (`sector run`: 2 hours on 2 CPU cores). The other presets are small overrides, and
`--set STAGE.KEY=VALUE` changes any field. `sector config` prints the resolved values with
each field's help; docs/DESIGN.md says why each default is what it is."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Iterator, get_args, get_origin, get_type_hints

from sector.tasks.arithmetic import PROMPT_FORMATS


def setting(default: Any, help: str, *, low: float | None = None, high: float | None = None,
            choices: tuple[str, ...] = ()) -> Any:
    """A config field with its one-line help and the range `validate` holds it to."""
    meta = {"help": help, "low": low, "high": high, "choices": choices}
    if isinstance(default, (tuple, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ModelConfig:
    """The model the run trains: a size preset of sector.model or a pretrained T5/ByT5 directory."""

    name: str = setting("scratch", "a size preset of sector.model (tiny, small, scratch, scratch-wide, byt5-small, "
                                   "byt5-base) or a local directory holding a pretrained T5/ByT5")


@dataclass
class Phase1Config:
    """Phase 1: supervised training on lengths 1..digits, a length added each time the gate passes."""

    digits: int = setting(6, "supervised lengths 1..digits: the only ground truth the model is trained on", low=2)
    curriculum_start: int = setting(6, "the first stage trains 1..this; a length is added each time the gate passes",
                                    low=1)
    pool_per_length: int = setting(20000, "ground-truth problems per length, stored and replayed in the rounds", low=1)
    stage_steps: int = setting(400, "training steps between two checks of the gate", low=1)
    max_steps: int = setting(10000, "phase 1 stops here whether or not the gate passed", low=1)
    gate_problems: int = setting(100, "held-out problems per length for the gate", low=1)
    slow_pad_to: int = setting(0, ">0: half the SLOW steps written instead with leading zeros, to a width "
                                 "drawn from their own up to this one", low=0)
    bridge_steps: int = setting(200, "steps on the rounds' own mixture after the gate, before round 1 labels", low=0)


@dataclass
class RoundsConfig:
    """The self-training rounds: how many, how they label, which labels they keep, how long they train."""

    max_rounds: int = setting(40, "self-training rounds at most", low=0)
    time_budget_min: float = setting(107.0, "start no round that, at the last round's pace, ends after this many "
                                            "minutes of the run (0: no budget)", low=0)
    lengths: int = setting(1, "new lengths self-labelled per round (the paper: 1)", low=1)
    problems: int = setting(1200, "fresh problems labelled per length", low=1)
    labeller: str = setting("sng", "a name in sector.labelling.LABELLERS (sng: Simplify-then-Guess)")
    sng_k: int = setting(5, "Simplify-then-Guess candidates: 1..K SLOW steps, each then FAST", low=1)
    filters: tuple[str, ...] = setting(("commutativity", "split", "pieces"),
                                       "names in sector.labelling.FILTERS, applied in order")
    stop_acceptance: float = setting(0.5, "the run stops when fewer labels than this share survive the filters",
                                     low=0, high=1)
    steps: int = setting(200, "training steps between two checks of FAST against the held-out labels", low=1)
    max_steps: int = setting(1200, "training steps a round at most", low=1)
    lr: float = setting(0.0, "peak learning rate of a round's chunks (0: train.lr)", low=0)
    agreement: float = setting(0.96, "a round trains until FAST reproduces its held-out labels at this rate ...",
                               low=0, high=1)
    earlier_agreement: float = setting(0.93, "... and those of every earlier length at this one", low=0, high=1)
    holdout_labels: int = setting(100, "accepted labels per length held out of training for that check, at most a "
                                       "fifth of them (0: no check; each round trains rounds.steps)", low=0)


@dataclass
class AnnealConfig:
    """The anneal: the run's last pass over all its data, the learning rate falling to 0."""

    steps: int = setting(800, "after the last round, steps over all the run's data with the lr falling to 0", low=0)
    lr: float = setting(3e-4, "the anneal's starting learning rate", low=0)


@dataclass
class MixtureConfig:
    """What training batches mix: the problem families, copying, and replayed SLOW steps written wider."""

    families: dict[str, float] = setting({"uniform": 0.4, "mixed": 0.2, "carry_chain": 0.1, "zero_heavy": 0.1,
                                          "nine_heavy": 0.1, "repeated": 0.1},
                                         "problem families (sector.tasks.families) that phase 1 and the rounds "
                                         "sample, by weight; mixed: one operand shorter")
    copy_max_len: int = setting(32, "phase 1's copy strings are up to this long (a round's grow with its length)",
                                low=1)
    replay_pad_ahead: int = setting(3, "rounds: half the replayed SLOW steps written up to this many digits wider "
                                       "than the round's length (0: none)", low=0)
    replay_pad_mixed: float = setting(0.5, "share of those widened under a sampled problem's digits, not zeros",
                                      low=0, high=1)


@dataclass
class EvalConfig:
    """Ground-truth evaluation, reported and never used to choose data; the final one sets the frontier."""

    problems: int = setting(50, "fresh problems per length in each round's evaluation (ground truth, reported only)",
                            low=1)
    beyond: int = setting(2, "evaluate lengths up to the frontier + this", low=0)
    final_problems: int = setting(1000, "fresh problems per length in the final evaluation, which sets the frontier",
                                  low=1)
    family_problems: int = setting(50, "each round: FAST on this many problems a length of every structured suite "
                                      "(the task's families but uniform; 0: none)", low=0)
    final_family_problems: int = setting(200, "the final evaluation's problems a length of every structured suite, "
                                              "which with the uniform ones set the strict frontier", low=0)


@dataclass
class TrainConfig:
    """The optimizer's learning-rate schedule and batch size."""

    lr: float = setting(1e-3, "peak learning rate of each cosine cycle (a phase-1 stage, a round's chunk)", low=0)
    warmup_steps: int = setting(100, "linear warm-up over the run's first steps", low=0)
    batch_size: int = setting(64, "examples per optimizer step (the global batch under torchrun)", low=1)


@dataclass
class ComputeConfig:
    """Where and how the run computes; `sector run --resume` may change any of these (RESUME_SETTINGS)."""

    device: str = setting("auto", "auto (cuda when there is one), cpu or cuda", choices=("auto", "cpu", "cuda"))
    train_precision: str = setting("fp32", "fp32, bf16 (autocast), or auto (bf16 where a bf16 matmul is faster here)",
                                   choices=("auto", "fp32", "bf16"))
    decode_precision: str = setting("auto", "fp32, bf16 (a bfloat16 copy of the weights), or auto (as above)",
                                    choices=("auto", "fp32", "bf16"))
    compile: bool = setting(True, "torch.compile the training step (a few minutes of compiling first)")
    micro_batches: int = setting(0, "slices a batch is sorted and cut into, one gradient (0: 3 on a CPU, 1 on a GPU)",
                                 low=0)
    decode_batch: int = setting(512, "sequences decoded at once", low=1)


@dataclass
class Config:
    """A run's whole configuration: task, prompt format, seed and one section per stage; saved as config.json."""

    preset: str = setting("default", "the preset this config started from")
    task: str = setting("addition", "a name in sector.tasks.TASKS")
    prompt_format: str = setting("columns", "how prompts write a problem: columns (an index letter before each "
                                            "column's digits) or plain (the operands reversed); checkpoints record it",
                                 choices=PROMPT_FORMATS)
    seed: int = setting(0, "seeds the model's initialisation and every random stream of the run", low=0)
    model: ModelConfig = field(default_factory=ModelConfig)
    phase1: Phase1Config = field(default_factory=Phase1Config)
    rounds: RoundsConfig = field(default_factory=RoundsConfig)
    anneal: AnnealConfig = field(default_factory=AnnealConfig)
    mixture: MixtureConfig = field(default_factory=MixtureConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)

    def to_dict(self) -> dict:
        """The config as nested dicts, one per section: the form of config.json and of `from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """A config from its `to_dict` form (say, a run's config.json); raises ValueError
        naming an unknown key."""
        cfg = cls()
        cfg.update(dict(flatten(cfg, d)))
        return cfg

    def flat(self) -> dict[str, Any]:
        """Every setting by its dotted key (`rounds.sng_k`), as `--set` names them."""
        return {key: value for key, _, value in described(self)}

    def update(self, settings: dict[str, Any]) -> dict[str, list]:
        """Set each dotted `KEY: value` in place; returns what changed, as `{KEY: [old, new]}`.
        Raises ValueError for an unknown key."""
        changed = {}
        for key, value in settings.items():
            owner, name = self._owner(key)
            value = tuple(value) if isinstance(value, list) else value
            if getattr(owner, name) != value:
                changed[key] = [getattr(owner, name), value]
                setattr(owner, name, value)
        return changed

    def _owner(self, key: str) -> tuple[Any, str]:
        """The dataclass that holds the dotted `key`, and the field's name in it."""
        *path, name = key.split(".")
        owner = self
        for part in path:
            owner = getattr(owner, part, None)
            if not is_dataclass(owner):
                raise ValueError(f"unknown config key {key!r}")
        if name not in {f.name for f in fields(owner)} or is_dataclass(getattr(owner, name)):
            raise ValueError(f"unknown config key {key!r}")
        return owner, name

    def validate(self) -> None:
        """Raise ValueError naming the first value out of its range."""
        from sector.labelling import FILTERS, LABELLERS
        from sector.tasks import TASKS

        for key, f, value in described(self):
            declared = _declared_type(self, key)
            if not _has_type(value, declared):
                raise ValueError(f"{key} must be {getattr(declared, '__name__', declared)}, got {value!r}")
            meta = f.metadata
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number, got {value}")
            if meta.get("low") is not None and value < meta["low"]:
                raise ValueError(f"{key} must be >= {meta['low']:g}, got {value}")
            if meta.get("high") is not None and value > meta["high"]:
                raise ValueError(f"{key} must be <= {meta['high']:g}, got {value}")
            if meta.get("choices") and value not in meta["choices"]:
                raise ValueError(f"unknown {key} {value!r} ({', '.join(meta['choices'])})")
        p, r, families = self.phase1, self.rounds, self.mixture.families
        known = TASKS[self.task][0].families if self.task in TASKS else ()
        checks = [
            (self.task in TASKS, f"unknown task {self.task!r} ({', '.join(TASKS)})"),
            (set(families) <= set(known), f"mixture.families: {self.task} has no family "
                                          f"{', '.join(sorted(set(families) - set(known)))} (its families: "
                                          f"{', '.join(known)}; the subtraction preset sets its own)"),
            (min(families.values(), default=-1) >= 0 and sum(families.values()) > 0,
             "mixture.families needs weights >= 0 that add up to more than 0"),
            (r.labeller in LABELLERS, f"unknown rounds.labeller {r.labeller!r} ({', '.join(LABELLERS)})"),
            (set(r.filters) <= set(FILTERS), f"unknown filter in rounds.filters {r.filters} ({', '.join(FILTERS)})"),
            (p.curriculum_start <= p.digits, "phase1.curriculum_start must be <= phase1.digits"),
            (r.max_steps >= r.steps, "rounds.max_steps must be >= rounds.steps"),
            (self.train.lr > 0 and self.anneal.lr > 0, "train.lr and anneal.lr must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


def flatten(cfg: Any, d: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """The dotted settings of `d`, a config's `to_dict` form, following `cfg`'s sections."""
    for key, value in d.items():
        section = getattr(cfg, key, None)
        if isinstance(value, dict) and is_dataclass(section):
            yield from flatten(section, value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def described(cfg: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(dotted key, dataclass field, value) for every setting of `cfg`, in declaration order."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if is_dataclass(value):
            yield from described(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f, value


def _declared_type(cfg: Config, key: str) -> Any:
    owner, name = cfg._owner(key)
    return get_type_hints(type(owner))[name]


def _has_type(value: Any, declared: Any) -> bool:
    """Whether `value` is of the field type `declared` (an int passes for a float)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if get_origin(declared) is tuple:
        return isinstance(value, tuple) and all(isinstance(v, get_args(declared)[0]) for v in value)
    if get_origin(declared) is dict:
        return isinstance(value, dict) and all(isinstance(k, str) and _has_type(v, float) for k, v in value.items())
    return {bool: isinstance(value, bool), int: number and isinstance(value, int), float: number,
            str: isinstance(value, str)}[declared]


def parse_setting(cfg: Config, text: str) -> tuple[str, Any]:
    """`KEY=VALUE` from the command line, KEY dotted (`rounds.sng_k=3`), VALUE read as JSON
    where it parses and as a string otherwise, checked against the field's type. Raises
    ValueError with a one-line reason."""
    key, sep, raw = text.partition("=")
    try:
        owner, name = cfg._owner(key) if sep else (None, "")
    except ValueError:
        owner = None
    if owner is None:
        raise ValueError(f"--set {text!r}: expected KEY=VALUE with KEY a config key (see `sector config`)")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    declared = get_type_hints(type(owner))[name]
    if isinstance(value, list):
        value = tuple(value)
    ok = _has_type(value, declared)
    if ok and declared is float:
        value = float(value)
    elif ok and get_origin(declared) is dict:
        value = {k: float(v) for k, v in value.items()}
    if not ok:
        raise ValueError(f"--set {key}: expected {getattr(declared, '__name__', declared)}, got {raw!r}")
    return key, value


# Presets: dotted overrides of the defaults (the default preset). Each spells out every value
# in which it differs, so its resolved config is all it says plus the defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # The default preset on CUDA: a step of this model waits on kernel launches, so 256
    # examples cost what 64 do; one decode batch holds a round's labelling.
    "gpu": {"compute.device": "cuda", "compute.decode_batch": 4096, "compute.compile": False,
            "train.batch_size": 256},
    # The method from scratch in under 10 minutes on 2 CPU cores: a 2+2-layer model learns
    # 1..3 digits from ground truth, then teaches itself 4, 5 and 6 digits in three rounds.
    "demo": {
        "model.name": "small", "phase1.digits": 3, "phase1.curriculum_start": 3, "phase1.pool_per_length": 4000,
        "phase1.stage_steps": 250, "phase1.max_steps": 3000, "phase1.gate_problems": 50,
        "rounds.max_rounds": 3, "rounds.time_budget_min": 0.0, "rounds.problems": 300, "rounds.steps": 100,
        "rounds.max_steps": 400, "rounds.holdout_labels": 30, "rounds.agreement": 0.97,
        "rounds.earlier_agreement": 0.94, "anneal.steps": 100, "mixture.copy_max_len": 16,
        "eval.final_problems": 200, "eval.final_family_problems": 50, "train.warmup_steps": 50,
        "compute.compile": False,
    },
    # Every stage of the loop in minutes: 1..3 digits supervised, then rounds at 4 and 5. Too
    # little training to self-label well, so it never stops early: it shows the machinery.
    "smoke": {
        "prompt_format": "plain", "mixture.families": {"uniform": 0.8, "mixed": 0.2}, "eval.family_problems": 0,
        "phase1.digits": 3, "phase1.curriculum_start": 3, "phase1.pool_per_length": 4000, "phase1.stage_steps": 500,
        "phase1.max_steps": 2500, "phase1.gate_problems": 50,
        "rounds.max_rounds": 2, "rounds.time_budget_min": 0.0, "rounds.problems": 300, "rounds.max_steps": 200,
        "rounds.holdout_labels": 30, "rounds.stop_acceptance": 0.0, "rounds.agreement": 0.97,
        "rounds.earlier_agreement": 0.94, "rounds.filters": ("commutativity",),
        "anneal.steps": 100, "mixture.copy_max_len": 16, "mixture.replay_pad_mixed": 0.0,
        "eval.final_problems": 200, "eval.final_family_problems": 50, "train.warmup_steps": 50,
        "compute.compile": False, "compute.train_precision": "auto",
    },
    # Tests: a tiny model, seconds per unit; it learns little and that is fine. Float32 set,
    # not probed: two runs that a test compares must not time their way to different choices.
    "test": {
        "model.name": "tiny", "phase1.digits": 2, "phase1.curriculum_start": 2, "phase1.pool_per_length": 200,
        "phase1.stage_steps": 5, "phase1.slow_pad_to": 4, "phase1.max_steps": 10, "phase1.bridge_steps": 2,
        "phase1.gate_problems": 8,
        "rounds.max_rounds": 2, "rounds.time_budget_min": 0.0, "rounds.problems": 8, "rounds.steps": 2,
        "rounds.max_steps": 4, "rounds.holdout_labels": 2, "rounds.sng_k": 2, "rounds.stop_acceptance": 0.0,
        "rounds.agreement": 0.97, "rounds.earlier_agreement": 0.94, "rounds.filters": ("commutativity",),
        "anneal.steps": 2, "mixture.copy_max_len": 8, "mixture.replay_pad_mixed": 0.0,
        "eval.problems": 4, "eval.beyond": 1, "eval.family_problems": 4, "eval.final_problems": 4,
        "eval.final_family_problems": 4,
        "train.batch_size": 8, "train.warmup_steps": 2, "compute.compile": False, "compute.decode_precision": "fp32",
    },
    # Subtraction, whose FAST lags far behind its SLOW step: supervised 1..3, then labels voted
    # over FAST where 1..3 digits remain (the chain labeller), for 8 rounds.
    "subtraction": {
        "task": "subtraction", "prompt_format": "plain", "mixture.families": {"uniform": 0.8, "mixed": 0.2},
        "eval.family_problems": 0, "phase1.digits": 3, "phase1.curriculum_start": 2, "phase1.max_steps": 4400,
        "rounds.max_rounds": 8, "rounds.time_budget_min": 0.0, "rounds.labeller": "chain", "rounds.max_steps": 600,
        "rounds.stop_acceptance": 0.3, "rounds.agreement": 0.97, "rounds.earlier_agreement": 0.94,
        "rounds.filters": ("commutativity",), "anneal.steps": 400, "mixture.replay_pad_mixed": 0.0,
        "eval.problems": 100, "compute.compile": False, "compute.train_precision": "auto",
    },
}


def preset(name: str, settings: dict[str, Any] | None = None) -> Config:
    """The named preset with dotted `settings` applied on top. Raises KeyError for an
    unknown preset, ValueError for an unknown key."""
    cfg = Config(preset=name)
    cfg.update({**PRESETS[name], **(settings or {})})
    return cfg


# What `sector run --resume` may change: the run's limits and how it computes, never its
# data, model or rules (a run begun on a CPU may go on on a GPU with a larger batch).
RESUME_SETTINGS = ("rounds.max_rounds", "rounds.time_budget_min", "train.batch_size",
                   *(f"compute.{f.name}" for f in fields(ComputeConfig)))


def describe(cfg: Config) -> str:
    """The resolved config, one `key = value  # help` line per setting (`sector config`)."""
    rows = [(key, json.dumps(list(value) if isinstance(value, tuple) else value), f.metadata.get("help", ""))
            for key, f, value in described(cfg)]
    width = min(max(len(k) + len(v) for k, v, _ in rows), 56) + 3  # a long value overflows its own line only
    return "\n".join(f"{f'{k} = {v}':<{width}}  # {h}" for k, v, h in rows)


__all__ = ["Config", "PRESETS", "preset", "parse_setting", "describe", "RESUME_SETTINGS"]
