"""Copying random strings: a generic auxiliary task that carries no addition answers.

The paper's ByT5 arrived pretrained and able to copy text of any length; a model trained
from scratch is not, and a SLOW step is mostly a copy (of the operands minus a digit).
Copying strings of every length up to `max_len` is the from-scratch substitute.

Uniform strings almost never hold a long run of one character, and a model trained on
them alone drops or adds characters in such runs; a SLOW step on a zero-padded operand
(123 + 4 written 123 + 004, and longer) must copy exactly such a run of zeros. So a share
of the strings repeat one symbol over a span.

Past its trained length the SLOW step mostly fails by dropping one character from a short
run of equal digits (docs/DESIGN.md): `repeat` writes such runs throughout a
string (each character repeats the one before with that probability), and `min_len` keeps
the strings long, where the count is lost.

A model trained on free strings alone still miscopies the zeros of a padded operand (a
zero too many or too few) on problems whose operands differ in length, even at lengths it
was trained on (docs/DESIGN.md): `problem_copies` copies problems themselves,
one operand zero-padded, as prompts write them. Problems only: the task samples and
renders them, and nothing here can answer one.

Every string is written as the task writes copies (`Task.copy_text`): as it is in the plain
prompt format, with an index letter before each pair of characters in the columns format,
so that the copy task trains the same lettered copy that a SLOW step makes."""
from __future__ import annotations

import numpy as np

from sector.tasks import Task


def copy_examples(rng: np.random.Generator, count: int, max_len: int, task: Task,
                  runs: float = 0.0, repeat: float = 0.0, min_len: int = 1) -> list[tuple[str, str]]:
    """`count` examples "C<w>" -> "<w>": w is a string s of the task's symbols, as the task
    writes copies (`Task.copy_text`), s with a length uniform in min_len..max_len, each
    character after the first repeating the one before with probability `repeat`. In a
    share `runs` of them a span of uniform length 1..len(s), at a uniform place, is one
    symbol repeated."""
    alphabet = np.frombuffer(task.symbols.encode(), dtype=np.uint8)
    lengths = rng.integers(min(min_len, max_len), max_len + 1, size=count)
    chars = alphabet[rng.integers(0, len(alphabet), size=int(lengths.sum()))]
    ends = np.cumsum(lengths)
    if repeat:
        position = np.arange(len(chars))
        copies_previous = rng.random(len(chars)) < repeat
        copies_previous[ends - lengths] = False  # a string's first character starts afresh
        chars = chars[np.maximum.accumulate(np.where(copies_previous, 0, position))]
    if runs:
        run_len = rng.integers(1, lengths + 1)
        run_start = rng.integers(0, lengths - run_len + 1)
        run_char = alphabet[rng.integers(0, len(alphabet), size=count)]
        has_run = rng.random(count) < runs
        owner = np.repeat(np.arange(count), lengths)
        offset = np.arange(len(chars)) - np.repeat(ends - lengths, lengths)
        inside = has_run[owner] & (offset >= run_start[owner]) & (offset < (run_start + run_len)[owner])
        chars = np.where(inside, run_char[owner], chars)
    text = chars.tobytes().decode()
    written = [task.copy_text(text[e - n : e]) for e, n in zip(ends, lengths)]
    return [("C" + w, w) for w in written]


def problem_copies(rng: np.random.Generator, count: int, task: Task, min_digits: int,
                   max_digits: int) -> list[tuple[str, str]]:
    """`count` examples "C<p>" -> "<p>", p a problem of the task with min_digits..max_digits
    digits (uniform) and one operand of 1..that many digits written zero-padded."""
    lengths, counts = np.unique(rng.integers(min_digits, max_digits + 1, size=count), return_counts=True)
    bodies = [task.body(p) for d, n in zip(lengths, counts) for p in task.sample(rng, int(d), int(n), "mixed")]
    return [("C" + b, b) for b in bodies]
