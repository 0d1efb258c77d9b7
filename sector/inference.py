"""Using a trained model: answer problems, and score it on fresh ones with ground truth.

    from sector import load_model, solve, evaluate
    model = load_model()                      # the shipped reference model
    solve(model, "4521+3897")                 # 8418, FAST
    solve(model, "4521+3897", mode="slow")    # the same through the full chain of SLOW steps
    evaluate(model, digits=range(1, 11))      # per-length exact match on fresh uniform problems
    evaluate(model, suite="carry_chain")      # ... on long carry chains (sector.tasks.families)
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from sector.decoding import MODES
from sector.evaluate import Evaluator
from sector.model import Model
from sector.rundir import prompt_format_of
from sector.tasks import Problem, get_task, group_by_digits


def solve(model: Model, problems: str | Problem | list[str | Problem], task: str = "addition",
          mode: str = "fast") -> int | None | list[int | None]:
    """The model's answer to each problem (`a+b`, `a+b+1`; a Problem; or a list of them), by
    FAST or by the full SLOW chain; None where it wrote no well-formed answer. Raises
    ValueError for a malformed problem."""
    the_task, _ = get_task(task, prompt_format_of(model))
    single = not isinstance(problems, list)
    parsed = [p if isinstance(p, Problem) else the_task.parse_problem(p) for p in ([problems] if single else problems)]
    answers = MODES[mode](model, the_task, parsed)
    return answers[0] if single else answers


def evaluate(model: Model, task: str = "addition", digits: Iterable[int] = range(1, 11), count: int = 100,
             seed: int = 0, mode: str = "fast", suite: str = "uniform",
             problems: list[Problem] | None = None) -> list[dict]:
    """Exact match per length against the task's answer function: `count` fresh problems of
    each length in `digits` from the problem family `suite` (sector.tasks.families), drawn
    from `seed`, or the `problems` given. One row per length: digits, n, correct,
    accuracy, 95% interval."""
    the_task, oracle = get_task(task, prompt_format_of(model))
    if problems is None:
        rng = np.random.default_rng(seed)
        problems = [p for d in digits for p in the_task.sample(rng, d, count, suite)]
    by_length = {d: [problems[i] for i in idx] for d, idx in sorted(group_by_digits(problems).items())}
    return Evaluator(the_task, oracle, {}).accuracy(model, by_length, modes=(mode,))
