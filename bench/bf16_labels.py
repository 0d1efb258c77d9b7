"""S&G + commutativity labelling (K=5, settled vote) with the decoder in fp32 and under bf16
autocast (`decode_bf16`), on the same checkpoint and 400 fresh 20-digit problems, in one
process, alternating, best of 2: labelled problems/s, the speed-up, and whether the labels,
the verdicts and their correctness (post hoc, with the answer function) agree.

    python bench/bf16_labels.py CHECKPOINT
"""
from __future__ import annotations

import sys
import time

import numpy as np

from sector.labelling import Commutativity, SimplifyThenGuess, apply_filters
from sector.rundir import load_checkpoint
from sector.tasks import get_task


def label(model, task, problems, bf16: bool) -> tuple[float, list[tuple[int | None, bool]]]:
    """Seconds to label `problems`, and each one's (label, accepted)."""
    labeller = SimplifyThenGuess(k=5, stop_when_settled=True, decode_kw={"batch_size": 512, "bf16": bf16})
    t0 = time.perf_counter()
    labels = labeller(model, task, problems)
    apply_filters(model, task, labeller, [Commutativity()], labels)
    return time.perf_counter() - t0, [(lab.label, lab.accepted) for lab in labels]


def main() -> None:
    model = load_checkpoint(sys.argv[1]).eval()
    task, oracle = get_task("addition")
    problems = task.sample(np.random.default_rng(1), 20, 400)
    seconds, verdicts = {False: [], True: []}, {}
    for _ in range(2):
        for bf16 in (False, True):
            s, verdicts[bf16] = label(model, task, problems, bf16)
            seconds[bf16].append(s)
            print(f"bf16={bf16} {len(problems) / s:.1f} problems/s", flush=True)
    fp32, bf16 = verdicts[False], verdicts[True]
    right = [sum(ok and lab == oracle.answer(p) for (lab, ok), p in zip(v, problems)) for v in (fp32, bf16)]
    print("same label and verdict:", sum(x == y for x, y in zip(fp32, bf16)), "of", len(problems))
    print("accepted fp32 / bf16:", sum(ok for _, ok in fp32), sum(ok for _, ok in bf16))
    print("accepted and right fp32 / bf16:", *right)
    print("speed-up (best of 2):", min(seconds[False]) / min(seconds[True]))


if __name__ == "__main__":
    main()
