"""Copying random strings: a generic auxiliary task that carries no addition answers.

The paper's ByT5 arrived pretrained and able to copy text of any length; a model trained
from scratch is not, and a SLOW step is mostly a copy (of the operands minus a digit).
Copying strings of every length up to `max_len` is the from-scratch substitute."""
from __future__ import annotations

import numpy as np

ALPHABET = np.frombuffer(b"0123456789+", dtype=np.uint8)


def copy_examples(rng: np.random.Generator, count: int, max_len: int) -> list[tuple[str, str]]:
    """`count` examples "C<s>" -> "<s>" with s uniform in length 1..max_len."""
    lengths = rng.integers(1, max_len + 1, size=count)
    chars = ALPHABET[rng.integers(0, len(ALPHABET), size=int(lengths.sum()))].tobytes().decode()
    ends = np.cumsum(lengths)
    return [("C" + chars[e - n : e], chars[e - n : e]) for e, n in zip(ends, lengths)]
