"""How well a checkpoint copies strings that hold a run of zeros, against uniform strings:
the copy a SLOW step makes of a zero-padded operand.

    python bench/copy_runs_probe.py CHECKPOINT_OR_RUN_DIR [--count 200]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from sector.decoding import greedy
from sector.rundir import load_checkpoint


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_checkpoint(args.checkpoint).eval()
    rng = np.random.default_rng(0)
    alphabet = np.array(list("0123456789+"))
    print("length | zero run | copied exactly")
    for length in (16, 24, 32):
        for run in (0, 4, 8, 12):
            strings = []
            for _ in range(args.count):
                s = rng.choice(alphabet, length)
                at = rng.integers(0, length - run + 1)
                s[at : at + run] = "0"
                strings.append("".join(s))
            out = greedy(model, ["C" + s for s in strings], length + 4, bf16=True)
            print(f"{length:6d} | {run:8d} | {np.mean([o == s for o, s in zip(out, strings)]):.3f}", flush=True)


if __name__ == "__main__":
    main()
