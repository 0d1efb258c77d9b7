"""A task defined outside the package (examples/wrapping_addition.py) registers by name and
runs through the whole loop, its oracle reaching only phase 1 and the evaluator."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from sector import TASKS, get_task, preset, run

EXAMPLE = Path(__file__).parent.parent / "examples" / "wrapping_addition.py"


@pytest.fixture(scope="module")
def wrapping():
    spec = importlib.util.spec_from_file_location("wrapping_addition", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # registers the task
    yield module
    TASKS.pop("wrapping-addition", None)


def test_the_example_task_registers_and_answers_modulo_10_to_the_n(wrapping):
    task, oracle = get_task("wrapping-addition")
    p = task.parse_problem("95+17")
    assert oracle.answer(p) == 12 and task.parse_fast(task.fast_target(12, p), p) == 12
    assert task.parse_fast("a2b1c1", p) is None  # an answer has exactly n digits
    for p in task.sample(np.random.default_rng(0), 5, 200):  # the SLOW step composes to the answer
        digit, rest = oracle.slow_step(p)
        assert task.combine([digit], oracle.answer(rest)) == oracle.answer(p)


@pytest.mark.slow
def test_the_example_task_runs_through_the_loop(wrapping, tmp_path):
    summary = run(preset("test", {"task": "wrapping-addition"}), tmp_path / "run", log=lambda _: None)
    assert summary["rounds"] == 2 and summary["trained_to"] == 4
    config = json.loads((tmp_path / "run/config.json").read_text())
    assert config["task"] == "wrapping-addition"
    labelled = [json.loads(x) for x in (tmp_path / "run/labels/round_001.jsonl").read_text().splitlines()]
    assert labelled and all(len(row["problem"].split("+")[0]) == 3 for row in labelled)
