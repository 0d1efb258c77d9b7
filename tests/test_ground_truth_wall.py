"""After phase 1 the self-training path must have no handle on the answer function.

The run below uses an oracle that raises whenever it is called after phase 1 outside the
evaluator (which reports and never chooses data). If any part of labelling, filtering,
the agreement checks, training or the anneal reached for the truth, the run would fail;
it completes, with rounds, labels and training data written."""
import inspect
import json

import pytest

import sector.experiment as experiment
import sector.labelling as labelling
import sector.method as method
import sector.mixture as mixture
from sector.config import preset
from sector.evaluate import Evaluator
from sector.tasks import get_task


class GuardedOracle:
    def __init__(self, oracle):
        self.oracle, self.armed, self.calls_while_armed = oracle, False, 0

    def answer(self, problem):
        self._check()
        return self.oracle.answer(problem)

    def slow_step(self, problem):
        self._check()
        return self.oracle.slow_step(problem)

    def _check(self):
        if self.armed:
            self.calls_while_armed += 1
            raise AssertionError("the answer function was called during self-training")


@pytest.mark.slow
def test_after_phase_1_only_the_evaluator_reads_the_answer_function(tmp_path, monkeypatch):
    task, oracle = get_task("addition")
    guard = GuardedOracle(oracle)
    monkeypatch.setattr(experiment, "get_task", lambda name, prompt_format: (task, guard))

    def then_seal(fn):
        def wrapper(*args, **kwargs):
            result = fn(*args, **kwargs)
            guard.armed = True
            return result
        return wrapper

    def unsealed(fn):
        def wrapper(*args, **kwargs):
            armed, guard.armed = guard.armed, False
            try:
                return fn(*args, **kwargs)
            finally:
                guard.armed = armed
        return wrapper

    monkeypatch.setattr(method, "supervised_phase", then_seal(method.supervised_phase))
    for name in ("accuracy", "step_accuracy", "label_quality"):
        monkeypatch.setattr(Evaluator, name, unsealed(getattr(Evaluator, name)))
    summary = method.run(preset("test", {"rounds.max_rounds": 2}), str(tmp_path / "run"), log=lambda _: None)
    assert guard.armed and guard.calls_while_armed == 0
    assert summary["rounds"] == 2
    progress = [json.loads(line) for line in (tmp_path / "run/progress.jsonl").read_text().splitlines()]
    assert [p["unit"] for p in progress][-3:] == ["round", "round", "anneal"]
    assert (tmp_path / "run/labels/round_002.jsonl").exists()
    assert (tmp_path / "run/data/self_len04.jsonl").exists()


def test_self_training_functions_take_no_oracle():
    from sector.tasks.copying import problem_copies

    for fn in (method.self_training, method.self_training_round, method.label_new_lengths, method.hold_out,
               method.train_until_agreement, method.anneal, method.saved_round_data, labelling.label_and_filter,
               mixture.copy_pools, mixture.round_mixture, mixture.replay_mixture, problem_copies,
               experiment.Experiment):
        params = inspect.signature(fn).parameters
        assert not any("oracle" in name for name in params), fn.__name__


def test_the_experiment_holds_no_answer_function():
    """After phase 1 the truth reaches only the evaluator: the Experiment's other fields are
    the config, the model's trainer, the run directory and the bookkeeping."""
    from dataclasses import fields

    assert not any("oracle" in f.name for f in fields(experiment.Experiment))
    # phase 1 alone is handed the answer function, beside the Experiment
    assert list(inspect.signature(method.supervised_phase).parameters) == ["exp", "oracle"]
    assert list(inspect.signature(method.supervised_data).parameters) == ["exp", "oracle"]


@pytest.mark.slow
def test_training_side_label_files_hold_no_truth(tiny_run):
    out, _ = tiny_run
    for line in (out / "labels/round_001.jsonl").read_text().splitlines():
        assert "truth" not in json.loads(line)
    assert "truth" in (out / "labels/round_001.eval.jsonl").read_text()
