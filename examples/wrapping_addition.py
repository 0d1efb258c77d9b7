"""A skill defined outside the package: addition modulo 10^n (an odometer: the carry out
of the top column is dropped), taught by the same loop.

A task renders prompts and checks the shape of answers but never computes one; its oracle
holds the answers, which only phase 1 and evaluation receive. Both are registered by name,
and a run names the task in its config:

    python examples/wrapping_addition.py runs/wrapping            # the smoke preset
    python examples/wrapping_addition.py runs/wrapping --preset test
"""
from __future__ import annotations

import argparse

from sector import Problem, preset, register_task, run
from sector.tasks import Addition, AdditionOracle


class WrappingAddition(Addition):
    """n-digit a + b (+ 1), answered in exactly n digits. The SLOW step is addition's (its
    carry goes into the remaining problem); only the last carry-out is lost."""

    name, answer_widths = "wrapping-addition", (0,)
    split = None  # the split check reads the low half's carry from its answer's length: not here

    def within_bounds(self, answer: int, problem: Problem) -> bool:
        return answer < 10 ** problem.digits


class WrappingAdditionOracle(AdditionOracle):
    def answer(self, problem: Problem) -> int:
        return super().answer(problem) % 10 ** problem.digits


register_task("wrapping-addition", WrappingAddition, WrappingAdditionOracle)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the run directory")
    parser.add_argument("--preset", default="smoke")
    args = parser.parse_args()
    summary = run(preset(args.preset, {"task": "wrapping-addition"}), args.out)
    print(summary["frontier"], summary["stop_reason"])
