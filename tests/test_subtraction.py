"""Subtraction: a second skill through the same Task protocol and the same loop."""
import json

import numpy as np
import pytest

from sector.config import preset
from sector.method import run
from sector.tasks import get_task
from sector.tasks.arithmetic import Problem

task, oracle = get_task("subtraction")


def test_samples_are_non_negative_differences_of_exact_length():
    problems = task.sample(np.random.default_rng(0), 6, 500)
    assert all(len(p.a) == len(p.b) == 6 and p.op == "-" for p in problems)
    assert all(oracle.answer(p) >= 0 for p in problems)
    assert {p.carry for p in problems} == {0, 1}


def test_slow_steps_chain_down_to_the_difference():
    for p in task.sample(np.random.default_rng(1), 9, 300):
        digits, rest = [], p
        while task.can_reduce(rest):
            digit, rest = oracle.slow_step(rest)
            digits.append(digit)
            assert oracle.answer(rest) >= 0  # every remaining problem is valid
        assert task.combine(digits, oracle.answer(rest)) == oracle.answer(p)


def test_the_twin_has_the_same_difference_and_other_digits():
    for p in task.sample(np.random.default_rng(2), 7, 300):
        twin = task.twin(p)
        assert oracle.answer(twin) == oracle.answer(p) and twin.digits == p.digits
        assert twin != p


def test_prompts_round_trip_through_the_strict_parsers():
    p = Problem("4587", "3897", 0, "-")
    digit, rest = oracle.slow_step(p)
    assert (digit, rest) == (0, Problem("458", "389", 0, "-"))
    assert task.slow_prompt(p) == "S077|a89b58c43"
    assert get_task("subtraction", "plain")[0].slow_prompt(p) == "S077|854-983"
    assert task.parse_slow(task.slow_target(digit, rest), p) == (digit, rest)
    assert task.parse_fast(task.fast_target(oracle.answer(p), p), p) == 690
    assert task.parse_fast("a0b9c6d0e1", p) is None  # a difference never has n + 1 digits
    assert task.parse_fast("a9b8c5d4", p) is None  # 4589 > 4587: more than the minuend
    assert task.parse_slow("0|a89b58c43+1", p) is None  # the other operator is malformed here


def test_parse_problem_pads_and_refuses_negative_results():
    assert task.parse_problem("1000-7-1") == Problem("1000", "0007", 1, "-")
    for text in ("7-1000", "5-5-1", "5+3"):
        with pytest.raises(ValueError):
            task.parse_problem(text)


@pytest.mark.slow
def test_the_same_loop_runs_subtraction(tmp_path):
    out = tmp_path / "sub"
    families = {"uniform": 0.5, "mixed": 0.2, "borrow_chain": 0.3}
    summary = run(preset("test", {"task": "subtraction", "mixture.families": families}), str(out), log=lambda _: None)
    assert summary["rounds"] == 2
    labels = [json.loads(x) for x in (out / "labels/round_001.jsonl").read_text().splitlines()]
    assert all("-" in lab["problem"] and "+" not in lab["problem"] for lab in labels)
    data = (out / "data/phase1_len02.jsonl").read_text()
    assert "-" in data and "+" not in data.replace("C", "")
