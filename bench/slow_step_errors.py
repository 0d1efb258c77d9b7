"""Where a checkpoint's SLOW step goes wrong: for fresh n-digit problems, the first output
position at which the step differs from the true one, counted from the start and from the
end of the true step, and what the wrong steps look like (one character dropped from a run
of equal ones, other characters missing or extra, the carry flag alone wrong). A copy that
breaks at a fixed position whatever n is points at position encoding; one that breaks at
the end whatever n is points at where the copy stops.

    python bench/slow_step_errors.py CHECKPOINT N [N ...] [--count 400] [--mixed]

With --mixed every problem has one operand shorter, written zero-padded (sector's mixed
lengths), so the step must copy a run of zeros.
"""
from __future__ import annotations

import argparse
import collections

import numpy as np

from sector.decoding import greedy
from sector.model import load_model
from sector.tasks import get_task


def kind(out: str, want: str) -> str:
    """A wrong step in one word: 'carry-missing' / 'carry-extra' (only the trailing +1 of the
    remaining problem differs: left out, or written where there is no carry), 'run-1' (exactly one
    character dropped, from a run of equal characters), 'short' / 'long' (other missing or
    extra characters), else 'digit' (same length, a character differs)."""
    if out + "+1" == want:
        return "carry-missing"
    if out == want + "+1":
        return "carry-extra"
    if len(out) == len(want) - 1:
        i = next((i for i, (a, b) in enumerate(zip(out, want)) if a != b), len(out))
        if out == want[:i] + want[i + 1:] and want[i] in want[max(0, i - 1) : i] + want[i + 1 : i + 2]:
            return "run-1"
    return "short" if len(out) < len(want) else "long" if len(out) > len(want) else "digit"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("digits", type=int, nargs="+")
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--mixed", action="store_true", help="one operand shorter in every problem")
    args = ap.parse_args()
    task, oracle = get_task("addition")
    model = load_model(args.checkpoint).eval()
    for n in args.digits:
        problems = task.sample(np.random.default_rng(11), n, args.count, 1.0 if args.mixed else 0.0)
        prompts = [task.slow_prompt(p) for p in problems]
        truth = [task.slow_target(*oracle.slow_step(p)) for p in problems]
        wrong = [(out, want) for out, want in zip(greedy(model, prompts, len(prompts[0]) + 3), truth) if out != want]
        first = [next((i for i, (a, b) in enumerate(zip(out, want)) if a != b), min(len(out), len(want)))
                 for out, want in wrong]
        from_end = collections.Counter(min(len(want) - i, 9) for i, (_, want) in zip(first, wrong))
        from_start = collections.Counter(4 * (i // 4) for i in first)
        kinds = collections.Counter(kind(out, want) for out, want in wrong)
        print(f"{n} digits | prompt {len(prompts[0])} chars | wrong {len(wrong)}/{args.count} | kinds "
              f"{dict(kinds)} | first wrong position, from the start in 4s {dict(sorted(from_start.items()))}"
              f" | from the end of the true step (9 = 9 or more) {dict(sorted(from_end.items()))}")


if __name__ == "__main__":
    main()
