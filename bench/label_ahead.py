"""How well a checkpoint trained to n digits self-labels n+1 and n+2 digits: S&G (K
candidates) + commutativity, acceptance and the post-hoc error of the accepted labels, and
each candidate's accuracy. At n+2 the first candidate (one step, then FAST at n+1) is
untrained, so the label rests on the guesses after 2..K steps: the case for round_lengths=2.

    python bench/label_ahead.py CHECKPOINT_OR_RUN_DIR --digits 20 21 [--k 5 6] [--problems 600]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from sector.labelling import Commutativity, SimplifyThenGuess, apply_filters
from sector.rundir import load_checkpoint
from sector.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--digits", type=int, nargs="+", required=True)
    ap.add_argument("--k", type=int, nargs="+", default=[5])
    ap.add_argument("--problems", type=int, default=600)
    ap.add_argument("--mixed", type=float, default=0.2)
    args = ap.parse_args()
    model = load_checkpoint(args.checkpoint).eval()
    task, oracle = get_task("addition")
    for digits in args.digits:
        problems = task.sample(np.random.default_rng(digits), digits, args.problems, args.mixed)
        truth = [oracle.answer(p) for p in problems]
        for k in args.k:
            t0 = time.perf_counter()
            labeller = SimplifyThenGuess(k=k, stop_when_settled=False)  # every candidate, for the per-level means
            labels = labeller(model, task, problems)
            fired = apply_filters(model, task, labeller, [Commutativity()], labels)
            accepted = [(lab, t) for lab, t in zip(labels, truth) if lab.accepted]
            error = sum(lab.label != t for lab, t in accepted) / max(1, len(accepted))
            per_candidate = np.mean([[c == t for c in lab.candidates] for lab, t in zip(labels, truth)], axis=0)
            print(f"{digits} digits, K={k}: acceptance {len(accepted) / len(labels):.3f}, accepted-label error "
                  f"{error:.4f}, filters {fired}, candidate accuracy {np.round(per_candidate, 3).tolist()}, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
