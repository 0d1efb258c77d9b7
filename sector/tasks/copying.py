"""Copying random strings: a generic auxiliary task that carries no addition answers.

The paper's ByT5 arrived pretrained and able to copy text of any length; a model trained
from scratch is not, and a SLOW step is mostly a copy (of the operands minus a digit).
Copying strings of every length up to `max_len` is the from-scratch substitute."""
from __future__ import annotations

import numpy as np


def copy_examples(rng: np.random.Generator, count: int, max_len: int,
                  symbols: str = "0123456789+") -> list[tuple[str, str]]:
    """`count` examples "C<s>" -> "<s>", s over `symbols` with a length uniform in 1..max_len."""
    alphabet = np.frombuffer(symbols.encode(), dtype=np.uint8)
    lengths = rng.integers(1, max_len + 1, size=count)
    chars = alphabet[rng.integers(0, len(alphabet), size=int(lengths.sum()))].tobytes().decode()
    ends = np.cumsum(lengths)
    return [("C" + chars[e - n : e], chars[e - n : e]) for e, n in zip(ends, lengths)]
