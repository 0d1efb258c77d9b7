"""After phase 1 the self-training path must have no handle on the answer function.

The run below uses an oracle that raises whenever it is called while a round labels or
trains. If any part of labelling, filtering or training reached for the truth, the run
would fail; it completes, with rounds, labels and training data written."""
import inspect

import sector.loop as loop
from sector.config import preset
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


def test_rounds_run_with_the_answer_function_sealed(tmp_path, monkeypatch):
    task, oracle = get_task("addition")
    guard = GuardedOracle(oracle)
    monkeypatch.setattr(loop, "get_task", lambda name: (task, guard))

    entered = []

    def sealed(fn):
        def wrapper(*args, **kwargs):
            entered.append(fn.__name__)
            guard.armed = True
            try:
                return fn(*args, **kwargs)
            finally:
                guard.armed = False
        return wrapper

    monkeypatch.setattr(loop, "self_label", sealed(loop.self_label))
    monkeypatch.setattr(loop, "self_train", sealed(loop.self_train))
    monkeypatch.setattr(loop, "anneal", sealed(loop.anneal))
    summary = loop.run(preset("test", max_rounds=2), str(tmp_path / "run"), log=lambda _: None)
    assert summary["rounds"] == 2
    assert guard.calls_while_armed == 0
    assert entered.count("self_train") == 2 and entered[-1] == "anneal"
    assert (tmp_path / "run/labels/round_002.jsonl").exists()
    assert (tmp_path / "run/data/self_len04.jsonl").exists()


def test_self_training_functions_take_no_oracle():
    from sector.tasks.copying import problem_copies

    for fn in (loop.self_label, loop.self_train, loop.anneal, loop.copy_pools, problem_copies):
        params = inspect.signature(fn).parameters
        assert not any("oracle" in name for name in params), fn.__name__


def test_training_side_label_files_hold_no_truth(tiny_run):
    out, _ = tiny_run
    import json
    for line in (out / "labels/round_001.jsonl").read_text().splitlines():
        assert "truth" not in json.loads(line)
    assert "truth" in (out / "labels/round_001.eval.jsonl").read_text()
