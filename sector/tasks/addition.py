"""Addition of two n-digit numbers with an optional carry-in: `a+b` or `a+b+1`.

Inside the model, numbers are written least significant digit first, so that the
decoder writes a sum in the order its carries flow. Users never see that order.

    FAST  "F" + rev(a) + "+" + rev(b) [+ "+1"]   ->  rev(sum), zero-padded to n digits
    SLOW  "S" + c + a0 + b0 + "|" + rev(a//10) + "+" + rev(b//10)
                                                 ->  d + "|" + rev(a//10) + "+" + rev(b//10) [+ "+1"]

A SLOW prompt sets the column being reduced (carry-in c, last digits a0 and b0) apart
from the rest, so one step is a local sum plus a verbatim copy of the prompt's tail and
the carry-out: a copy that the generic copy task trains at every length. The model
still writes the whole remaining problem; the harness only parses it and renders the
next prompt from it.

Example: 4587+3897 is "S077|854+983"; the step answers "4|854+983+1" (4, then 458+389+1).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

MAX_DIGITS = 1000
_PROBLEM = re.compile(r"^\s*(\d+)\s*\+\s*(\d+)\s*(\+\s*1)?\s*$")


@dataclass(frozen=True)
class Problem:
    """Two operands written with the same number of digits, plus a carry-in of 0 or 1."""

    a: str
    b: str
    carry: int = 0

    @property
    def digits(self) -> int:
        return len(self.a)

    def __str__(self) -> str:
        return f"{self.a}+{self.b}" + ("+1" if self.carry else "")


class Addition:
    """The addition task: sampling, prompts, strict parsing. It cannot compute a sum."""

    name = "addition"

    def sample(self, rng: np.random.Generator, digits: int, count: int) -> list[Problem]:
        """`count` problems whose operands both have exactly `digits` digits."""
        body = rng.integers(0, 10, size=(count, 2, digits), dtype=np.int8)
        body[:, :, 0] = rng.integers(1, 10, size=(count, 2), dtype=np.int8)
        carries = rng.integers(0, 2, size=count)
        text = (body + ord("0")).astype(np.uint8).tobytes().decode()
        return [
            Problem(text[i * 2 * digits : i * 2 * digits + digits],
                    text[i * 2 * digits + digits : (i + 1) * 2 * digits], int(carries[i]))
            for i in range(count)
        ]

    def _body(self, p: Problem) -> str:
        return f"{p.a[::-1]}+{p.b[::-1]}" + ("+1" if p.carry else "")

    def fast_prompt(self, problem: Problem) -> str:
        return "F" + self._body(problem)

    def slow_prompt(self, problem: Problem) -> str:
        p = problem
        return f"S{p.carry}{p.a[-1]}{p.b[-1]}|{p.a[-2::-1]}+{p.b[-2::-1]}"

    def fast_target(self, answer: int, problem: Problem) -> str:
        return str(answer).zfill(problem.digits)[::-1]

    def slow_target(self, digit: int, rest: Problem) -> str:
        return f"{digit}|{self._body(rest)}"

    def parse_fast(self, text: str, problem: Problem) -> int | None:
        """The sum, or None unless `text` is n or n+1 digits (an n-digit sum has no more)."""
        n = problem.digits
        if not text.isdigit() or not text.isascii() or len(text) not in (n, n + 1):
            return None
        if len(text) == n + 1 and text[-1] != "1":
            return None
        return int(text[::-1])

    def parse_slow(self, text: str, problem: Problem) -> tuple[int, Problem] | None:
        """(emitted digit, remaining problem), or None unless the remaining operands are
        exactly one digit shorter and are the original operands without their last digit."""
        digit, sep, rest = text.partition("|")
        if sep != "|" or len(digit) != 1 or not digit.isdigit():
            return None
        parts = rest.split("+")
        if len(parts) == 3 and parts[2] == "1":
            carry = 1
        elif len(parts) == 2:
            carry = 0
        else:
            return None
        a, b = parts[0][::-1], parts[1][::-1]
        n = problem.digits - 1
        if len(a) != n or len(b) != n or not (a + b).isdigit() or not (a + b).isascii():
            return None
        return int(digit), Problem(a, b, carry)

    def combine(self, digits: Sequence[int], rest_answer: int) -> int:
        """The full answer from the digits emitted by k SLOW steps and FAST on the rest."""
        low = sum(d * 10**i for i, d in enumerate(digits))
        return rest_answer * 10 ** len(digits) + low

    def pad(self, problem: Problem, width: int) -> Problem:
        """The same problem with both operands written `width` digits wide."""
        return Problem(problem.a.zfill(width), problem.b.zfill(width), problem.carry)

    def swap(self, problem: Problem) -> Problem:
        return Problem(problem.b, problem.a, problem.carry)

    def can_reduce(self, problem: Problem) -> bool:
        return problem.digits > 1

    def parse_problem(self, text: str) -> Problem:
        """`a+b` or `a+b+1` from a user; operands of different lengths are zero-padded.
        Raises ValueError with a one-line reason."""
        m = _PROBLEM.match(text)
        if m is None:
            raise ValueError(f"malformed problem {text!r}: expected A+B or A+B+1 with non-negative integers")
        a, b = m.group(1), m.group(2)
        if max(len(a), len(b)) > MAX_DIGITS:
            raise ValueError(f"problem too long: operands may have at most {MAX_DIGITS} digits")
        n = max(len(a.lstrip("0")), len(b.lstrip("0")), 1)
        return Problem(a.lstrip("0").zfill(n), b.lstrip("0").zfill(n), 1 if m.group(3) else 0)


class AdditionOracle:
    """The answer function. Only phase 1 and evaluation hold one."""

    def answer(self, problem: Problem) -> int:
        return int(problem.a) + int(problem.b) + problem.carry

    def slow_step(self, problem: Problem) -> tuple[int, Problem]:
        low = int(problem.a[-1]) + int(problem.b[-1]) + problem.carry
        return low % 10, Problem(problem.a[:-1], problem.b[:-1], low // 10)
