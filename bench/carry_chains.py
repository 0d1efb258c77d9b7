"""Problems whose carry runs through every column (a + b + 1 with every column summing
to 9), the hardest case for FAST and rare among random problems. Writes a --problems file:

    python bench/carry_chains.py > chains.txt
    sector eval docs/reach/checkpoint --problems chains.txt [--mode slow]
"""
from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", type=int, nargs="+", default=[6, 8, 10])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    for n in args.lengths:
        a = rng.integers(0, 10, size=(args.count, n))
        a[:, 0] = rng.integers(1, 9, size=args.count)  # b's leading digit 9 - a0 stays non-zero
        for row in a:
            print("".join(map(str, row)) + "+" + "".join(str(9 - d) for d in row) + "+1")


if __name__ == "__main__":
    main()
