"""The encoder eager against torch.compile(dynamic=True) on batches of 512 SLOW prompts
of 20, 21 and 12 digits (best of 5 calls each), on docs/reach/checkpoint; run from the
repository root. (Run from /tmp in session 16; committed unchanged but for this note.)

    python bench/encoder_compile.py
"""
import time, numpy as np, torch
from sector.rundir import load_checkpoint
from sector.tasks import get_task
from sector.model import ByteCodec
model = load_checkpoint("docs/reach/checkpoint").eval()
task, _ = get_task("addition")
codec = ByteCodec()
def batch(d):
    ps = task.sample(np.random.default_rng(d), d, 512)
    return codec.encode([task.slow_prompt(p) for p in ps])
enc = model.get_encoder()
comp = torch.compile(enc, dynamic=True)
with torch.no_grad():
    for d in (20, 21, 12):
        ids, mask = batch(d)
        t0=time.perf_counter(); ref = enc(input_ids=ids, attention_mask=mask).last_hidden_state; te=time.perf_counter()-t0
        t0=time.perf_counter(); out = comp(input_ids=ids, attention_mask=mask).last_hidden_state; tc0=time.perf_counter()-t0
        res={}
        for name, f in (("eager", enc), ("compiled", comp)):
            ts=[]
            for _ in range(5):
                t0=time.perf_counter(); f(input_ids=ids, attention_mask=mask); ts.append(time.perf_counter()-t0)
            res[name]=min(ts)
        print(f"{d} digits, shape {tuple(ids.shape)}: eager {res['eager']*1e3:.1f} ms, compiled {res['compiled']*1e3:.1f} ms "
              f"({res['eager']/res['compiled']:.2f}x; first call {tc0:.1f}s), max diff {(ref-out).abs().max():.2e}", flush=True)
