"""Kill a run with SIGKILL at four moments, resume it, and get the uninterrupted result.

Each killed run is a subprocess that patches one function to SIGKILL itself on its Nth
call: during phase 1 (a training call), during phase 1's bridge, during labelling (round 2),
in the middle of writing a checkpoint (after a torn optimizer file). And one in-process
death between the gate's last pass and the end of phase 1."""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # whole runs, killed and resumed

KILLER = r"""
import os, signal, sys
import sector.method, sector.rundir, sector.training
target, nth = sys.argv[1], int(sys.argv[2])
calls = {"n": 0}

def killing(fn, torn=False):
    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            if torn:  # leave half a file behind, as a crash mid-write would
                open(args[1], "wb").write(b"\0" * 100)
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)
    return wrapper

if target == "phase1":
    sector.training.Trainer.train = killing(sector.training.Trainer.train)
elif target == "label":
    sector.method.label_and_filter = killing(sector.method.label_and_filter)
elif target == "checkpoint":
    sector.rundir.save_optimizer = killing(sector.rundir.save_optimizer, torn=True)
from sector.cli import main
sys.exit(main(sys.argv[3:]))
"""

TIMING = ("wall_s", "label_s", "train_s", "check_s", "eval_s", "tokens_per_s")


def sector(*argv, kill=None):
    prefix = [sys.executable, "-c", KILLER, *kill] if kill else [sys.executable, "-m", "sector"]
    return subprocess.run(prefix + list(argv), capture_output=True, text=True, timeout=600)


def assert_same_run(out, reference):
    for name in ("metrics.jsonl", "progress.jsonl"):
        assert stripped(out / name) == stripped(reference / name), name
    ours, ref = (json.loads((d / "summary.json").read_text()) for d in (out, reference))
    when = ("wall_s", "provenance")  # how long, and when, where and by what command it ran
    assert {k: v for k, v in ours.items() if k not in when} == {k: v for k, v in ref.items() if k not in when}


def stripped(path):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    proc = sector("run", "--preset", "test", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


# The test preset trains two phase-1 stages (its gate never passes), then the bridge.
@pytest.mark.parametrize("kill", [("phase1", "2"), ("phase1", "3"), ("label", "2"), ("checkpoint", "3")],
                         ids=["phase1", "phase1-bridge", "labelling", "checkpoint-write"])
def test_resume_after_sigkill_matches_an_uninterrupted_run(reference, tmp_path, kill):
    out = tmp_path / "run"
    killed = sector("run", "--preset", "test", "--out", str(out), kill=kill)
    assert killed.returncode == -9, killed.stderr
    assert not (out / "summary.json").exists()
    resumed = sector("run", "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(out, reference)
    for r in (1, 2):
        name = f"labels/round_00{r}.jsonl"
        assert (out / name).read_text() == (reference / name).read_text()



class Killed(Exception):
    pass


def test_resume_between_the_gate_and_the_end_of_phase_1(tmp_path, monkeypatch):
    """The gate passes at its first check (GATE_ACCURACY=0) and the run dies in the phase-1
    evaluation that follows, after the bridge's checkpoint (in-process: the files are what a
    SIGKILL would leave, as every write is atomic). Resumed, it trains no extra stage."""
    from sector import method
    from sector.config import preset
    from sector.evaluate import Evaluator
    from sector.method import run

    monkeypatch.setattr(method, "GATE_ACCURACY", 0.0)
    cfg = {"rounds.max_rounds": 1}
    run(preset("test", cfg), str(tmp_path / "ref"), log=lambda _: None)
    accuracy, calls = Evaluator.accuracy, []

    def dies_on_the_second_call(self, *args, **kwargs):  # call 1: the gate; call 2: phase-1 evaluation
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return accuracy(self, *args, **kwargs)

    monkeypatch.setattr(Evaluator, "accuracy", dies_on_the_second_call)
    with pytest.raises(Killed):
        run(preset("test", cfg), str(tmp_path / "run"), log=lambda _: None)
    monkeypatch.setattr(Evaluator, "accuracy", accuracy)
    run(None, str(tmp_path / "run"), resume=True, log=lambda _: None)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["phase1_gate_met"]
    assert_same_run(tmp_path / "run", tmp_path / "ref")
