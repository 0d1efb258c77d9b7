"""The run directory: every file written atomically (temporary file, fsync, rename), so
that a run killed at any moment leaves either the old file or the new one, never a torn one.

    DIR/config.json              the run's configuration
    DIR/state.json               what is finished: the last completed unit and its checkpoint
    DIR/metrics.jsonl            one row per evaluated (phase, round, mode, digits)
    DIR/progress.jsonl           one row per finished unit: acceptance, filters, time split
    DIR/data/*.jsonl             examples ({"prompt", "target"}): phase1_lenNN (ground truth) and
                                 self_lenNN (a round's accepted labels) are trained on;
                                 holdout_lenNN, held out for the rounds' check
    DIR/labels/round_NNN.jsonl   the self-labels of a round (no true answers)
    DIR/labels/round_NNN.eval.jsonl   their post-hoc correctness (from the evaluator)
    DIR/checkpoints/NAME/        model (safetensors, config.json) + trainer state (safetensors)
    DIR/summary.json             the finished run: frontier, rounds, stop reason, wall time
    DIR/report/                  report.md and its plots (sector.report)
    DIR/tb/                      TensorBoard scalars
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from sector.model import Model, load_pretrained, save_model

# The shipped reference model (its record: docs/runs/columns_families_pieces_s1), found wherever sector is
# installed.
REFERENCE_MODEL = Path(__file__).parent / "reference"


class RunError(Exception):
    """A problem with a run directory or checkpoint, reported to the user in one line."""


def first_line(error: Exception) -> str:
    """One line saying what went wrong, for a RunError built from a library's exception."""
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` by temporary file, fsync and rename: a crash leaves the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def write_json(path: Path, obj: dict) -> None:
    """Write `obj` to `path` as indented JSON, atomically."""
    atomic_write(path, (json.dumps(obj, indent=2) + "\n").encode())


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """Write `rows` to `path` as JSON lines, one a row, atomically."""
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in rows).encode())


def read_jsonl(path: Path) -> list[dict]:
    """The rows of the JSON-lines file `path`, blank lines skipped."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """AdamW state as safetensors: tensors by name, the rest as JSON metadata."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, slots in state["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.contiguous()
            else:
                scalars[f"{pid}.{key}"] = value
    meta = {"param_groups": json.dumps(state["param_groups"]), "scalars": json.dumps(scalars)}
    save_file(tensors, str(path), metadata=meta)


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """Load into `optimizer` the state that `save_optimizer` wrote to `path`; a missing or torn file raises
    RunError."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata()
        tensors = load_file(str(path))
    except Exception as e:  # a missing file, or safetensors' own error for a torn one
        raise RunError(f"corrupt checkpoint: cannot resume from {path}: {first_line(e)}") from None
    state: dict = {}
    for name, value in list(tensors.items()) + list(json.loads(meta["scalars"]).items()):
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})


def _writes(method):
    """A RunDir method that writes: skipped on a read-only view (the non-zero ranks of a
    distributed run, which read what rank 0 writes)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self.writable:
            return method(self, *args, **kwargs)
    return wrapper


class RunDir:
    """A run's output directory."""

    def __init__(self, path: str | Path, writable: bool = True):
        self.path = Path(path)
        self.writable = writable

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, config: dict) -> "RunDir":
        """A new run; refuses a directory that already holds files."""
        run = cls(path)
        if run.path.exists() and any(run.path.iterdir()):
            kind = "a run" if (run.path / "config.json").exists() else "files"
            raise RunError(f"{run.path} already holds {kind}; use --resume {run.path} or another --out")
        try:
            run.path.mkdir(parents=True, exist_ok=True)
            write_json(run.path / "config.json", config)
        except OSError as e:
            raise RunError(f"cannot write to {run.path}: {e.strerror}") from None
        return run

    @classmethod
    def open(cls, path: str | Path, writable: bool = True) -> "RunDir":
        """An existing run; RunError where `path` holds no readable config.json. `writable=False`: a
        read-only view, whose writing methods do nothing."""
        run = cls(path, writable)
        if not (run.path / "config.json").is_file():
            raise RunError(f"{run.path} is not a run directory (no config.json)")
        try:
            run.config
        except (OSError, ValueError) as e:
            raise RunError(f"{run.path}/config.json is unreadable: {e}") from None
        return run

    @property
    def config(self) -> dict:
        """The run's config.json (`Config.from_dict` reads it)."""
        return json.loads((self.path / "config.json").read_text())

    @property
    def state(self) -> dict | None:
        """The run's state.json (what is finished, and its checkpoint); None before the first checkpoint."""
        path = self.path / "state.json"
        return json.loads(path.read_text()) if path.exists() else None

    # -- rows and files ----------------------------------------------------------------
    def rows(self, name: str) -> list[dict]:
        """The rows of the run's JSON-lines file `name`; [] where it does not exist yet."""
        path = self.path / name
        return read_jsonl(path) if path.exists() else []

    @_writes
    def append_rows(self, name: str, rows: list[dict]) -> None:
        """Append by rewriting atomically: a killed append never leaves a torn row."""
        write_jsonl(self.path / name, self.rows(name) + rows)

    @_writes
    def write_rows(self, name: str, rows: list[dict]) -> None:
        """Replace the JSON-lines file `name` with `rows`."""
        write_jsonl(self.path / name, rows)

    @_writes
    def truncate_rows(self, name: str, keep: int) -> None:
        """Keep the first `keep` rows of `name`, dropping those of a unit of work that no checkpoint ended."""
        rows = self.rows(name)
        if len(rows) != keep:
            write_jsonl(self.path / name, rows[:keep])

    @_writes
    def write_examples(self, name: str, examples: list[tuple[str, str]]) -> None:
        """Write (prompt, target) examples to data/NAME.jsonl."""
        write_jsonl(self.path / "data" / f"{name}.jsonl", [{"prompt": p, "target": t} for p, t in examples])

    def read_examples(self, name: str) -> list[tuple[str, str]]:
        """The (prompt, target) examples of data/NAME.jsonl; RunError where the file is missing."""
        path = self.path / "data" / f"{name}.jsonl"
        try:
            return [(r["prompt"], r["target"]) for r in read_jsonl(path)]
        except FileNotFoundError:
            raise RunError(f"{path} is missing: the run directory is incomplete or was made by an "
                           "older version of sector") from None

    # -- checkpoints -------------------------------------------------------------------
    @_writes
    def save_checkpoint(self, name: str, model: Model, optimizer: torch.optim.Optimizer, state: dict) -> None:
        """Model and optimizer under checkpoints/NAME, then state.json pointing at it.
        state.json is written last, so a checkpoint it names is always complete."""
        final = self.path / "checkpoints" / name
        tmp = final.with_name(f".{name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        save_model(model, tmp)
        save_optimizer(optimizer, tmp / "optimizer.safetensors")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
        self._write_state(state, checkpoint=name)
        self._prune(keep=name)

    @_writes
    def update_state(self, state: dict) -> None:
        """Rewrite state.json with the checkpoint it already names."""
        self._write_state(state, checkpoint=self.state["checkpoint"])

    def _write_state(self, state: dict, checkpoint: str) -> None:
        write_json(self.path / "state.json", {**state, "checkpoint": checkpoint})

    def _prune(self, keep: str) -> None:
        """Drop optimizer state from older checkpoints: only the newest resumes."""
        for ckpt in (self.path / "checkpoints").iterdir():
            if ckpt.name != keep and (ckpt / "optimizer.safetensors").exists():
                (ckpt / "optimizer.safetensors").unlink()

    @_writes
    def write_json(self, name: str, obj: dict) -> None:
        """Write `obj` to the run's file `name` as indented JSON, atomically."""
        write_json(self.path / name, obj)

    def latest_checkpoint(self) -> Path:
        """The checkpoint directory that state.json names; RunError before the first checkpoint."""
        state = self.state
        if not state:
            raise RunError(f"{self.path} has no completed checkpoint yet")
        return self.path / "checkpoints" / state["checkpoint"]


def load_model(path: str | Path | None = None) -> Model:
    """A model from a checkpoint directory or a run directory (its latest checkpoint); the
    shipped reference model without a path. Raises RunError with a one-line reason."""
    path = Path(path) if path is not None else REFERENCE_MODEL
    if not path.exists():
        raise RunError(f"checkpoint not found: {path}")
    if (path / "state.json").exists() or (path / "checkpoints").is_dir():
        path = RunDir(path).latest_checkpoint()
    if not (path / "config.json").is_file():
        raise RunError(f"{path} is not a checkpoint (no config.json)")
    if not (path / "model.safetensors").is_file():
        raise RunError(f"{path} is not a checkpoint (no model.safetensors)")
    try:
        return load_pretrained(path)
    except Exception as e:  # transformers/safetensors raise many types for a bad file
        raise RunError(f"corrupt checkpoint {path}: {first_line(e)}") from None


def prompt_format_of(model: Model) -> str:
    """The prompt format (sector.tasks.arithmetic) a model was trained on, which its config
    records; RunError for a model that records none (one sector did not train)."""
    trained_on = getattr(model.config, "prompt_format", None)
    if trained_on is None:
        raise RunError("the model records no prompt format (a checkpoint from before formats were recorded, "
                       "or not from a sector run); add \"prompt_format\": \"plain\" to its config.json if it is "
                       "an older sector checkpoint")
    return trained_on
