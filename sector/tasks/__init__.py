"""Tasks: what the model learns, split from the answers to it.

A `Task` samples problems, renders FAST and SLOW prompts, parses model output and
checks its structure. It has no way to compute an answer. The answers live in an
`Oracle`, which only phase 1 (supervised data) and evaluation ever receive: that
split is the ground-truth wall of SECToR.
"""
from __future__ import annotations

from typing import Mapping, Protocol, Sequence

import numpy as np

from sector.tasks.arithmetic import Addition, AdditionOracle, Problem, Subtraction, SubtractionOracle


class Task(Protocol):
    """What the self-training path may know about a skill: no answers."""

    name: str
    prompt_format: str  # how prompts write a problem (sector.tasks.arithmetic); a checkpoint records it
    symbols: str  # the characters problems are written with; the copy task copies strings of them

    families: tuple[str, ...]  # the problem families it samples from (sector.tasks.families), "uniform" among them

    def sample(self, rng: np.random.Generator, digits: int, count: int,
               families: str | Mapping[str, float] = "uniform") -> list[Problem]: ...
    def fast_prompt(self, problem: Problem) -> str: ...
    def slow_prompt(self, problem: Problem) -> str: ...
    def slow_draft(self, problem: Problem) -> str: ...  # a guess of a SLOW answer after its first character
    def parse_slow_prompt(self, prompt: str) -> Problem | None: ...
    def body(self, problem: Problem) -> str: ...  # the operands as FAST prompts and SLOW answers write them
    def parse_body(self, text: str) -> Problem | None: ...  # the problem `body` wrote as text, else None
    def copy_text(self, chars: str) -> str: ...  # a string of `symbols` as the copy task writes it
    def fast_target(self, answer: int, problem: Problem) -> str: ...
    def slow_target(self, digit: int, rest: Problem) -> str: ...
    def fast_text_after_step(self, text: str) -> str: ...  # FAST's likely text after one SLOW step, from its text before
    def parse_fast(self, text: str, problem: Problem) -> int | None: ...
    def parse_slow(self, text: str, problem: Problem) -> tuple[int, Problem] | None: ...
    def combine(self, digits: Sequence[int], rest_answer: int) -> int: ...
    def twin(self, problem: Problem) -> Problem: ...  # another problem with the same answer
    def can_reduce(self, problem: Problem) -> bool: ...
    def pad(self, problem: Problem, width: int, high: Problem | None = None) -> Problem: ...  # same lowest column
    def parse_problem(self, text: str) -> Problem: ...
    # Optional: a method `split(problem, low_digits=0)` returning the low columns as a problem
    # (0: the low half), the high columns' problem as a function of the low part's answer, and
    # the join of the two parts' answers. The split and pieces checks (sector.labelling.SplitCheck)
    # use it and pass every label of a task without it; `Addition.split` is the example.


class Oracle(Protocol):
    """Ground truth: for phase 1 and for evaluation only."""

    def answer(self, problem: Problem) -> int: ...
    def slow_step(self, problem: Problem) -> tuple[int, Problem]: ...


# Skills by name, as a run's config names them (`task`): a task class and its oracle class.
TASKS: dict[str, tuple[type, type]] = {"addition": (Addition, AdditionOracle),
                                      "subtraction": (Subtraction, SubtractionOracle)}


def register_task(name: str, task: type, oracle: type) -> None:
    """Make a skill available to runs by `name` (`Config(task=name)`, `sector run --task`):
    `task(prompt_format)` builds a `Task` (no answers), `oracle()` its `Oracle` (phase 1 and
    evaluation only)."""
    TASKS[name] = (task, oracle)


def get_task(name: str, prompt_format: str = "columns") -> tuple[Task, Oracle]:
    """The task called `name`, writing prompts in `prompt_format`, and its oracle (raises
    KeyError for an unknown name, ValueError for a format the task does not write)."""
    task_cls, oracle_cls = TASKS[name]
    return task_cls(prompt_format), oracle_cls()


def fast_example(task: Task, problem: Problem, answer: int) -> tuple[str, str]:
    """The (prompt, target) pair that teaches FAST `answer` for `problem`."""
    return task.fast_prompt(problem), task.fast_target(answer, problem)


def slow_example(task: Task, problem: Problem, digit: int, rest: Problem) -> tuple[str, str]:
    """The (prompt, target) pair that teaches the SLOW step on `problem`: `digit`, then `rest`."""
    return task.slow_prompt(problem), task.slow_target(digit, rest)


def group_by_digits(problems: list[Problem]) -> dict[int, list[int]]:
    """Indices of the problems of each length."""
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(problems):
        groups.setdefault(p.digits, []).append(i)
    return groups


__all__ = ["Task", "Oracle", "Problem", "get_task", "register_task", "fast_example", "slow_example", "group_by_digits", "TASKS"]
