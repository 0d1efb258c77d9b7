"""Problem families: the shapes of problems a run trains on, labels and is scored on.

Drawn digit by digit uniformly, a column sums to 9 with probability 1/10, so a carry that
travels L columns turns up about once in 10^L problems, and runs of zeros or nines almost
never: a model that only ever meets uniform problems learns uniform addition. A family
draws the operands' digits of one shape. It never sees or makes an answer: a carry chain
is built from column sums that pass a carry on, and what the sum is stays the oracle's.

Each family is a function `(rng, count, digits) -> (digits, carries)`: an int8 array
(count, 2, digits), most significant digit first, leading digits non-zero, and the
carry-in (or borrow-in) of each problem. `draw` samples a weighted mixture of them.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

Family = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]

# A digit of a zero-heavy (nine-heavy) operand is 0 (9) with this probability.
HEAVY = 0.8
# In a run of equal digits, each digit repeats the one before with this probability.
REPEAT = 0.8


def uniform_digits(rng: np.random.Generator, count: int, digits: int) -> np.ndarray:
    """(count, 2, digits) uniform digits, the leading ones 1..9."""
    body = rng.integers(0, 10, size=(count, 2, digits), dtype=np.int8)
    body[:, :, 0] = rng.integers(1, 10, size=(count, 2), dtype=np.int8)
    return body


def uniform(rng: np.random.Generator, count: int, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Every digit uniform (the leading one 1..9), the carry-in 0 or 1."""
    return uniform_digits(rng, count, digits), rng.integers(0, 2, size=count)


def shorten_one_operand(rng: np.random.Generator, body: np.ndarray, rows: np.ndarray) -> None:
    """In the `rows` of `body`, one operand (either) becomes a number of 1..digits digits,
    written zero-padded: mixed lengths."""
    count, _, digits = body.shape
    short = rng.integers(1, digits + 1, size=len(rows))
    operand = body[rows, 1]
    operand[np.arange(digits)[None, :] < (digits - short)[:, None]] = 0
    operand[np.arange(len(rows)), digits - short] = rng.integers(1, 10, size=len(rows))
    flip = rng.random(len(rows)) < 0.5
    body[rows] = np.where(flip[:, None, None], np.stack([operand, body[rows, 0]], 1),
                          np.stack([body[rows, 0], operand], 1))


def mixed(rng: np.random.Generator, count: int, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Operands of different lengths: one operand has 1..digits digits, zero-padded."""
    body, carries = uniform(rng, count, digits)
    shorten_one_operand(rng, body, np.arange(count))
    return body, carries


def from_column_sums(rng: np.random.Generator, sums: np.ndarray) -> np.ndarray:
    """Operand digits (count, 2, digits) whose columns (least significant first in `sums`)
    add up to the sums given, uniform among the digit pairs that do; -1 = a free column.
    Leading digits stay non-zero."""
    count, digits = sums.shape
    first = np.zeros((count, digits), dtype=np.int64)
    first[:, -1] = 1  # the most significant column: no zero digit
    free = sums < 0
    s = np.where(free, 0, sums)
    low = np.maximum(first, s - 9)
    high = np.minimum(9, s - first)
    a = low + np.floor(rng.random((count, digits)) * (high - low + 1)).astype(np.int64)
    b = s - a
    free_digits = rng.integers(0, 10, size=(2, count, digits))
    free_digits[:, :, -1] = rng.integers(1, 10, size=(2, count))
    a, b = np.where(free, free_digits[0], a), np.where(free, free_digits[1], b)
    return np.stack([a[:, ::-1], b[:, ::-1]], 1).astype(np.int8)


def carry_chain(rng: np.random.Generator, count: int, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """A carry that travels a long stretch: one column makes a carry (its digits sum to
    10..18, or to 9 with a carry-in at the lowest column) and every column above it in the
    chain sums to 9, passing it on. Half the chains run through every column; the others
    have a uniform length and place. Columns outside the chain are uniform."""
    full = rng.random(count) < 0.5
    length = np.where(full, digits, rng.integers(1, digits + 1, size=count))
    start = rng.integers(0, digits - length + 1)
    carry_in = (start == 0) & (rng.random(count) < 0.5)
    column = np.arange(digits)[None, :]
    sums = np.where((column >= start[:, None]) & (column < (start + length)[:, None]), 9, -1)
    sums[np.arange(count), start] = np.where(carry_in, 9, rng.integers(10, 19, size=count))
    carries = np.where(carry_in, 1, rng.integers(0, 2, size=count))
    return from_column_sums(rng, sums), carries


def heavy(rng: np.random.Generator, count: int, digits: int, digit: int) -> np.ndarray:
    """(count, digits) operands whose digits are `digit` with probability HEAVY, else
    another digit; the leading digit is never 0."""
    others = rng.integers(0, 9, size=(count, digits))
    others = others + (others >= digit)  # uniform over the nine other digits
    out = np.where(rng.random((count, digits)) < HEAVY, digit, others)
    out[:, 0] = np.where(out[:, 0] == 0, rng.integers(1, 10, size=count), out[:, 0])
    return out.astype(np.int8)


def zero_heavy(rng: np.random.Generator, count: int, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Both operands mostly zeros: long runs of zeros to copy, few carries."""
    return np.stack([heavy(rng, count, digits, 0), heavy(rng, count, digits, 0)], 1), rng.integers(0, 2, size=count)


def nine_heavy(rng: np.random.Generator, count: int, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """One operand (either) mostly nines; the other mostly zeros (columns summing to 9: a
    carry-in runs through them) or mostly nines too (a carry out of nearly every column)."""
    nines = heavy(rng, count, digits, 9)
    other = np.where((rng.random(count) < 0.5)[:, None], heavy(rng, count, digits, 0), heavy(rng, count, digits, 9))
    flip = (rng.random(count) < 0.5)[:, None, None]
    body = np.where(flip, np.stack([other, nines], 1), np.stack([nines, other], 1))
    return body.astype(np.int8), rng.integers(0, 2, size=count)


def runs(rng: np.random.Generator, count: int, digits: int) -> np.ndarray:
    """(count, digits) operands made of runs of equal digits (each digit repeats the one
    before with probability REPEAT); the leading digit is 1..9."""
    fresh = rng.integers(0, 10, size=(count, digits))
    fresh[:, 0] = rng.integers(1, 10, size=count)
    repeats = rng.random((count, digits)) < REPEAT
    repeats[:, 0] = False
    last_fresh = np.maximum.accumulate(np.where(repeats, 0, np.arange(digits)[None, :]), axis=1)
    return np.take_along_axis(fresh, last_fresh, axis=1).astype(np.int8)


def repeated(rng: np.random.Generator, count: int, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Both operands made of runs of equal digits."""
    return np.stack([runs(rng, count, digits), runs(rng, count, digits)], 1), rng.integers(0, 2, size=count)


def borrow_chain(rng: np.random.Generator, count: int, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """For subtraction: a borrow that travels a long stretch: one column makes a borrow (its
    top digit below the bottom one, or equal to it with a borrow-in at the lowest column)
    and every column above it in the chain has equal digits, passing it on. The leading
    column stays outside the chain with the larger digit on top, so the difference stays
    non-negative and the operands keep their order."""
    if digits == 1:
        return uniform(rng, count, digits)
    full = rng.random(count) < 0.5
    length = np.where(full, digits - 1, rng.integers(1, digits, size=count))
    start = rng.integers(0, digits - length)
    borrow_in = (start == 0) & (rng.random(count) < 0.5)
    body, borrows = uniform(rng, count, digits)
    top, bottom = body[:, 0, ::-1].astype(np.int64), body[:, 1, ::-1].astype(np.int64)  # least significant first
    column = np.arange(digits)[None, :]
    chain = (column > start[:, None]) & (column < (start + length)[:, None])
    bottom = np.where(chain, top, bottom)
    rows = np.arange(count)
    low_top = rng.integers(0, 9, size=count)
    top[rows, start] = low_top
    bottom[rows, start] = np.where(borrow_in, low_top, low_top + 1 + (rng.random(count) * (9 - low_top)).astype(int))
    top[:, -1] = rng.integers(2, 10, size=count)
    bottom[:, -1] = 1 + (rng.random(count) * (top[:, -1] - 1)).astype(int)
    borrows = np.where(borrow_in, 1, borrows)
    return np.stack([top[:, ::-1], bottom[:, ::-1]], 1).astype(np.int8), borrows


# The families by name. "uniform" and "mixed" are every task's; a task names the others it
# draws from (Task.families). A new family is one entry here.
FAMILIES: dict[str, Family] = {"uniform": uniform, "mixed": mixed, "carry_chain": carry_chain,
                               "zero_heavy": zero_heavy, "nine_heavy": nine_heavy, "repeated": repeated,
                               "borrow_chain": borrow_chain}


def draw(rng: np.random.Generator, count: int, digits: int,
         weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`count` problems' digits and carries from a weighted mixture of families, and the
    family of each. Uniform problems are drawn for all, then a uniform number in [0, 1)
    per problem picks its family (mixed first, then the others in `weights`' order, the
    rest uniform): a mixture of uniform and mixed problems alone draws what a sampler of
    uniform problems with that share of mixed ones draws."""
    total = sum(weights.values())
    shares = {f: w / total for f, w in weights.items() if w > 0 and f != "uniform"}
    body = uniform_digits(rng, count, digits)
    names = np.full(count, "uniform", dtype=object)
    picked: dict[str, np.ndarray] = {}
    if shares:
        u = rng.random(count)
        edge = shares.get("mixed", 0.0)
        if "mixed" in shares:
            picked["mixed"] = np.flatnonzero(u < edge)
            shorten_one_operand(rng, body, picked["mixed"])
        for family, share in shares.items():
            if family != "mixed":
                picked[family] = np.flatnonzero((u >= edge) & (u < edge + share))
                edge += share
    carries = rng.integers(0, 2, size=count)
    for family, rows in picked.items():
        names[rows] = family
        if family != "mixed" and len(rows):
            body[rows], carries[rows] = FAMILIES[family](rng, len(rows), digits)
    return body, carries, names.tolist()
