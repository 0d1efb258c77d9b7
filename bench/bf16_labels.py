"""S&G + commutativity labelling (K=5, settled vote) with the decoder in fp32 and under bf16
autocast (`decode_bf16`), on the same checkpoint and 400 fresh 20-digit problems, in one
process, alternating, best of 2: labelled problems/s, the speed-up, and whether the labels,
the verdicts and their correctness (post hoc, with the answer function) agree.

    python bench/bf16_labels.py CHECKPOINT
"""
import sys, time
import numpy as np
from sector.labelling import Commutativity, SimplifyThenGuess, apply_filters
from sector.rundir import load_checkpoint
from sector.tasks import get_task
model = load_checkpoint(sys.argv[1]).eval()
task, oracle = get_task("addition")
problems = task.sample(np.random.default_rng(1), 20, 400)
res = {}
for rep in range(2):
    for bf16 in (False, True):
        lab = SimplifyThenGuess(k=5, stop_when_settled=True, decode_kw={"batch_size": 512, "bf16": bf16})
        t = time.perf_counter(); labels = lab(model, task, problems); apply_filters(model, task, lab, [Commutativity()], labels)
        dt = time.perf_counter() - t
        res.setdefault(bf16, []).append(dt)
        out = [(l.label, l.accepted) for l in labels]
        res[(bf16, 'out')] = out
        print(f"bf16={bf16} {len(problems)/dt:.1f} problems/s", flush=True)
a, b = res[(False, 'out')], res[(True, 'out')]
print("same label and verdict:", sum(x == y for x, y in zip(a, b)), "of", len(a))
print("accepted fp32 / bf16:", sum(x[1] for x in a), sum(x[1] for x in b))
print("accepted and right fp32 / bf16:", sum(x[1] and x[0] == oracle.answer(p) for x, p in zip(a, problems)), sum(x[1] and x[0] == oracle.answer(p) for x, p in zip(b, problems)))
print("speed-up (best of 2):", min(res[False]) / min(res[True]))
