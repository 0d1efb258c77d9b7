"""Column arithmetic on two n-digit numbers: addition `a+b[+1]` and subtraction `a-b[-1]`.

Both reduce the same way: one SLOW step settles the lowest column (its digit and the
carry or borrow into the next) and leaves an (n-1)-digit problem of the same kind.
Inside the model numbers are written least significant digit first, so the decoder
writes an answer in the order its carries flow. Users never see that order.

    FAST  "F" + body(a, b) [+ op + "1"]  ->  rev(answer), zero-padded to n digits (lettered)
    SLOW  "S" + c + a0 + b0 + "|" + body(a//10, b//10)
                                    ->  d + "|" + body(a//10, b//10) [+ op + "1"]

A SLOW prompt sets the column being reduced (carry-in c, last digits a0 and b0) apart
from the rest, so one step is a local sum plus a verbatim copy of the prompt's tail and
the carry-out. The model still writes the whole remaining problem; the harness only
parses it and renders the next prompt from it.

`body` is the prompt format, which a checkpoint records (a model reads only the one it
was trained on):

    columns  each column as an index letter, then its digit of a and of b:
             4587+3897 is "a77b89c58d43", and FAST answers "a4b8c4d8" (8484); its SLOW
             prompt is "S077|a89b58c43", whose step answers "4|a89b58c43+1" (4, then 458+389+1)
    plain    rev(a) + op + rev(b): 4587+3897 is "7854+7983"; "S077|854+983" -> "4|854+983+1"

In the plain format a copy of a run of one digit (the zeros of 5000000000) is a run of
identical tokens, and T5's cross-attention, which has no positions of its own, loses count
in it (docs/DESIGN.md); in the columns format every column, and every digit of a FAST
answer, has a letter of its own, so no copy and no alignment has to count.

A task here can render, parse and check the shape of an answer, never compute one: the
column rules live in the oracles at the bottom, which only phase 1 and evaluation hold.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from sector.tasks.families import draw

MAX_DIGITS = 1000
PROMPT_FORMATS = ("columns", "plain")
# The columns format's index letters, one per column from the lowest (cycling past the
# 49th): not C, F or S, which begin the copy, FAST and SLOW prompts.
INDEX_LETTERS = "abcdefghijklmnopqrstuvwxyzABDEGHIJKLMNOPQRTUVWXYZ"


def index_letters(n: int) -> str:
    """The letters of columns 0..n-1 in the columns format."""
    return (INDEX_LETTERS * (n // len(INDEX_LETTERS) + 1))[:n]


def lettered(units: Sequence[str]) -> str:
    """`units` (columns, answer digits, pairs of copied characters; lowest first), each
    behind its index letter, as the columns format writes them."""
    return "".join(map("".join, zip(index_letters(len(units)), units)))


@dataclass(frozen=True)
class Problem:
    """Two operands written with the same number of digits, plus a carry (or borrow) of 0 or 1."""

    a: str
    b: str
    carry: int = 0
    op: str = "+"
    # The family it was drawn from (sector.tasks.families), for per-family statistics: not
    # part of the problem, so problems of the same text are equal whatever their family.
    family: str = field(default="uniform", compare=False)

    @property
    def digits(self) -> int:
        return len(self.a)

    @property
    def is_mixed(self) -> bool:
        """One operand is a shorter number, zero-padded to the problem's width (a SLOW step
        must then copy a run of zeros, which it miscounts more often than digits)."""
        return self.digits > 1 and (self.a[0] == "0" or self.b[0] == "0")

    def __str__(self) -> str:
        return f"{self.a}{self.op}{self.b}" + (f"{self.op}1" if self.carry else "")


class ColumnTask:
    """Sampling, prompts and strict parsing for one operator. Subclasses say which operator,
    how long an answer may be, which problems are valid, and which twin has the same answer."""

    name: str
    op: str
    answer_widths: tuple[int, ...]  # an n-digit problem's answer has n + w digits, w in these
    families: tuple[str, ...]  # the problem families it samples from (sector.tasks.families)

    def __init__(self, prompt_format: str = "columns") -> None:
        if prompt_format not in PROMPT_FORMATS:
            raise ValueError(f"unknown prompt format {prompt_format!r} ({', '.join(PROMPT_FORMATS)})")
        self.prompt_format = prompt_format
        self.symbols = "0123456789" + self.op
        op = re.escape(self.op)
        self._pattern = re.compile(rf"^\s*(\d+)\s*{op}\s*(\d+)\s*({op}\s*1)?\s*$", re.ASCII)
        self._slow_prompt = re.compile(r"S([01])(\d)(\d)\|(.+)", re.ASCII)

    def problem(self, a: str, b: str, carry: int) -> Problem:
        return Problem(a, b, carry, self.op)

    def sample(self, rng: np.random.Generator, digits: int, count: int,
               families: str | Mapping[str, float] = "uniform") -> list[Problem]:
        """`count` valid problems of `digits` digits from one family (by name) or a weighted
        mixture of them (sector.tasks.families), each problem tagged with its family."""
        weights = {families: 1.0} if isinstance(families, str) else families
        unknown = set(weights) - set(self.families)
        if unknown:
            raise ValueError(f"{self.name} has no problem family {', '.join(sorted(unknown))} "
                             f"({', '.join(self.families)})")
        body, carries, names = draw(rng, count, digits, weights)
        text = (body + ord("0")).astype(np.uint8).tobytes().decode()
        width = 2 * digits
        return [self._valid(text[i * width : i * width + digits], text[i * width + digits : (i + 1) * width],
                            int(carries[i]), names[i]) for i in range(count)]

    def _valid(self, a: str, b: str, carry: int, family: str) -> Problem:
        """A problem of these operands that the task accepts (subtraction reorders them)."""
        return Problem(a, b, carry, self.op, family)

    def body(self, p: Problem) -> str:
        """The problem as prompts and SLOW answers write it (least significant digit first)."""
        return self._operands(p.a, p.b) + (f"{self.op}1" if p.carry else "")

    def _operands(self, a: str, b: str) -> str:
        if self.prompt_format == "plain":
            return f"{a[::-1]}{self.op}{b[::-1]}"
        return lettered(list(map("".join, zip(a[::-1], b[::-1]))))

    def parse_body(self, text: str) -> Problem | None:
        """The problem `body` wrote as `text`, or None for text it cannot have written."""
        if self.prompt_format == "plain":
            parts = text.split(self.op)
            carry = 1 if len(parts) == 3 and parts[2] == "1" else 0 if len(parts) == 2 else None
            if carry is None:
                return None
            a, b = parts[0][::-1], parts[1][::-1]
        else:
            columns, op, carry_text = text.partition(self.op)
            carry = 0 if not op else 1 if carry_text == "1" else None
            n = len(columns) // 3
            if carry is None or len(columns) != 3 * n or columns[0::3] != index_letters(n):
                return None
            a, b = columns[1::3][::-1], columns[2::3][::-1]
        if not a or len(a) != len(b) or not (a + b).isdigit() or not (a + b).isascii():
            return None
        return self.problem(a, b, carry)

    def copy_text(self, chars: str) -> str:
        """A string of the task's symbols as the copy task writes it: in the columns format
        with an index letter before every pair of characters, as prompts write columns."""
        if self.prompt_format == "plain":
            return chars
        return lettered([chars[i : i + 2] for i in range(0, len(chars), 2)])

    def fast_prompt(self, problem: Problem) -> str:
        return "F" + self.body(problem)

    def slow_prompt(self, problem: Problem) -> str:
        p = problem
        return f"S{p.carry}{p.a[-1]}{p.b[-1]}|{self._operands(p.a[:-1], p.b[:-1])}"

    def slow_draft(self, problem: Problem) -> str:
        """A SLOW answer's likely text after its digit: the prompt's tail, copied. Text
        only, for the decoder to verify; the carry-out that may follow is left to it."""
        return self.slow_prompt(problem)[4:]

    def parse_slow_prompt(self, prompt: str) -> Problem | None:
        """The problem a SLOW prompt asks to reduce, or None for any other text (a FAST prompt)."""
        m = self._slow_prompt.fullmatch(prompt)
        rest = self.parse_body(m.group(4)) if m is not None else None
        if rest is None or rest.carry:
            return None
        return self.problem(rest.a + m.group(2), rest.b + m.group(3), int(m.group(1)))

    def fast_target(self, answer: int, problem: Problem) -> str:
        return self._answer_text(str(answer).zfill(problem.digits)[::-1])

    def _answer_text(self, digits: str) -> str:
        """An answer's digits (least significant first) as FAST writes them."""
        return digits if self.prompt_format == "plain" else lettered(digits)

    def _unlettered(self, text: str) -> str | None:
        """The digits of a FAST text (least significant first), or None if its letters are wrong."""
        if self.prompt_format == "plain":
            return text
        return text[1::2] if len(text) % 2 == 0 and text[0::2] == index_letters(len(text) // 2) else None

    def slow_target(self, digit: int, rest: Problem) -> str:
        return f"{digit}|{self.body(rest)}"

    def fast_text_after_step(self, text: str) -> str:
        """A guess of FAST's text on the problem one SLOW step leaves, from its text on the
        problem before: the step settles the lowest column, whose digit is written first.
        Text only, for the decoder to verify (it drafts FAST guesses down a chain)."""
        digits = self._unlettered(text)
        return self._answer_text(digits[1:]) if digits else ""

    def parse_fast(self, text: str, problem: Problem) -> int | None:
        """The answer, or None unless `text` has a length an answer can have (an n-digit sum
        has n digits or n + 1 with a leading 1; a difference has n) and is within the task's
        bounds (a sum is at least its larger operand; a difference at most its minuend)."""
        n, text = problem.digits, self._unlettered(text)
        if not text or not text.isdigit() or not text.isascii() or len(text) - n not in self.answer_widths:
            return None
        if len(text) == n + 1 and text[-1] != "1":
            return None
        answer = int(text[::-1])
        return answer if self.within_bounds(answer, problem) else None

    def within_bounds(self, answer: int, problem: Problem) -> bool:
        """A bound any answer obeys, from comparing it with the operands (computing nothing):
        it catches a digit dropped from a run, which the length check misses when the run
        is the carry-out's (a self-label 111.. one 1 short)."""
        raise NotImplementedError

    def parse_slow(self, text: str, problem: Problem) -> tuple[int, Problem] | None:
        """(emitted digit, remaining problem), or None unless the remaining operands are
        exactly one digit shorter."""
        digit, sep, rest_text = text.partition("|")
        if sep != "|" or len(digit) != 1 or digit not in "0123456789":
            return None
        rest = self.parse_body(rest_text)
        if rest is None or rest.digits != problem.digits - 1:
            return None
        return int(digit), rest

    def combine(self, digits: Sequence[int], rest_answer: int) -> int:
        """The full answer from the digits emitted by k SLOW steps and FAST on the rest."""
        low = sum(d * 10**i for i, d in enumerate(digits))
        return rest_answer * 10 ** len(digits) + low

    def pad(self, problem: Problem, width: int, high: Problem | None = None) -> Problem:
        """The problem with both operands written `width` digits wide: with leading zeros, or
        under `high`, a problem of `width - digits` digits whose operands become the new
        leading digits. Either way the lowest column stays, and with it a SLOW step's digit
        and carry: the step on the wider problem leaves its rest under the same digits."""
        if high is None:
            return self.problem(problem.a.zfill(width), problem.b.zfill(width), problem.carry)
        if high.digits != width - problem.digits:
            raise ValueError(f"{high} cannot sit above {problem} in {width} digits")
        return self.problem(high.a + problem.a, high.b + problem.b, problem.carry)

    def twin(self, problem: Problem) -> Problem:
        """A different problem of the same length with the same answer (for the twin check)."""
        raise NotImplementedError

    def can_reduce(self, problem: Problem) -> bool:
        return problem.digits > 1

    def parse_problem(self, text: str) -> Problem:
        """`a OP b` or `a OP b OP 1` from a user; operands of different lengths are
        zero-padded. Raises ValueError with a one-line reason."""
        m = self._pattern.match(text)
        if m is None:
            raise ValueError(f"malformed problem {text!r}: expected A{self.op}B or A{self.op}B{self.op}1 "
                             "with non-negative integers")
        a, b = m.group(1), m.group(2)
        if max(len(a), len(b)) > MAX_DIGITS:
            raise ValueError(f"problem too long: operands may have at most {MAX_DIGITS} digits")
        n = max(len(a.lstrip("0")), len(b.lstrip("0")), 1)
        return self._check(self.problem(a.lstrip("0").zfill(n), b.lstrip("0").zfill(n), 1 if m.group(3) else 0))

    def _check(self, problem: Problem) -> Problem:
        return problem


class Addition(ColumnTask):
    """a + b (+ 1). The twin is b + a: the paper's commutativity check."""

    name, op, answer_widths = "addition", "+", (0, 1)
    families = ("uniform", "mixed", "carry_chain", "zero_heavy", "nine_heavy", "repeated")

    def twin(self, problem: Problem) -> Problem:
        return self.problem(problem.b, problem.a, problem.carry)

    def split(self, problem: Problem, low_digits: int = 0) -> tuple[Problem, Callable[[int | None], Problem | None],
                                                                 Callable[[int, int], int]]:
        """The low `low_digits` columns (0: the low half) as a problem; the high columns'
        problem given the low part's answer (its carry-out, read from the answer's length, is
        the high part's carry; None for no answer); and the whole answer from the two parts'
        answers. Text only: the model answers both parts."""
        k, p = low_digits or problem.digits // 2, problem

        def high(low_answer: int | None) -> Problem | None:
            return None if low_answer is None else self.problem(p.a[:-k], p.b[:-k], int(low_answer >= 10**k))

        def join(low_answer: int, high_answer: int) -> int:
            return high_answer * 10**k + low_answer % 10**k

        return self.problem(p.a[-k:], p.b[-k:], p.carry), high, join

    def within_bounds(self, answer: int, problem: Problem) -> bool:
        """At least the larger operand; and a digit longer only if an operand's leading digit
        is 5 or more (else a + b + 1 <= 4..9 + 4..9 + 1 < 10^n): it catches a 1 doubled in
        the carry-out's run, as the first bound catches one dropped."""
        longer = answer >= 10 ** problem.digits
        return answer >= max(int(problem.a), int(problem.b)) and (not longer or max(problem.a[0], problem.b[0]) >= "5")


def _complement(digits: str) -> str:
    return digits.translate(str.maketrans("0123456789", "9876543210"))


class Subtraction(ColumnTask):
    """a - b (- 1) with a >= b + borrow, so every answer is a non-negative n-digit number.
    The twin is (99..9 - b) - (99..9 - a): the same difference from other operands (the
    same problem only when a + b = 99..9)."""

    name, op, answer_widths = "subtraction", "-", (0,)
    families = ("uniform", "mixed", "borrow_chain", "zero_heavy", "nine_heavy", "repeated")

    def _valid(self, a: str, b: str, carry: int, family: str) -> Problem:
        a, b = max(a, b), min(a, b)  # equal widths: string order is numeric order
        return Problem(a, b, carry if a != b else 0, self.op, family)

    def twin(self, problem: Problem) -> Problem:
        return self.problem(_complement(problem.b), _complement(problem.a), problem.carry)

    def within_bounds(self, answer: int, problem: Problem) -> bool:
        return answer <= int(problem.a)

    def _check(self, problem: Problem) -> Problem:
        if problem.a < problem.b or (problem.a == problem.b and problem.carry):
            raise ValueError(f"{problem}: the result would be negative; subtraction takes a >= b")
        return problem


# -- the answer functions: only phase 1 and evaluation hold these ----------------------------

class AdditionOracle:
    """Ground truth for addition: the sum, and the digit and remaining problem of one SLOW step."""

    def answer(self, problem: Problem) -> int:
        return int(problem.a) + int(problem.b) + problem.carry

    def slow_step(self, problem: Problem) -> tuple[int, Problem]:
        low = int(problem.a[-1]) + int(problem.b[-1]) + problem.carry
        return low % 10, Problem(problem.a[:-1], problem.b[:-1], low // 10, problem.op)


class SubtractionOracle:
    """Ground truth for subtraction: the difference, and the digit and remaining problem of one SLOW step."""

    def answer(self, problem: Problem) -> int:
        return int(problem.a) - int(problem.b) - problem.carry

    def slow_step(self, problem: Problem) -> tuple[int, Problem]:
        low = int(problem.a[-1]) - int(problem.b[-1]) - problem.carry
        return low % 10, Problem(problem.a[:-1], problem.b[:-1], int(low < 0), problem.op)
