"""The encoder's share of labelling at a round's scale: S&G (K=5, settled vote) +
commutativity on COUNT fresh DIGITS-digit problems, decode batch 512, with forward hooks
timing the encoder. (Run from /tmp in session 16; committed unchanged but for this note.)

    python bench/encoder_share.py CHECKPOINT DIGITS COUNT
"""
import time, sys, numpy as np, torch
from sector.rundir import load_checkpoint
from sector.tasks import get_task
from sector.labelling import SimplifyThenGuess, Commutativity, apply_filters
model = load_checkpoint(sys.argv[1]).eval()
task, _ = get_task("addition")
problems = task.sample(np.random.default_rng(0), int(sys.argv[2]), int(sys.argv[3]))
enc_t = [0.0]
def pre(m, a, k): enc_t.append(time.perf_counter())
def post(m, a, k, o): enc_t[0] += time.perf_counter() - enc_t.pop()
model.encoder.register_forward_pre_hook(pre, with_kwargs=True)
model.encoder.register_forward_hook(post, with_kwargs=True)
for rep in range(2):
    enc_t[:] = [0.0]
    t0 = time.perf_counter()
    lab = SimplifyThenGuess(k=5, decode_kw={"batch_size": 512})
    labels = lab(model, task, problems)
    apply_filters(model, task, lab, [Commutativity()], labels)
    tot = time.perf_counter() - t0
    print(f"rep {rep}: total {tot:.1f}s encoder {enc_t[0]:.1f}s ({enc_t[0]/tot:.0%}) {len(problems)/tot:.1f} problems/s", flush=True)
