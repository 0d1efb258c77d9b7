"""What a decoding step costs against batch size, and what one teacher-forced pass over a
whole output costs: the ceiling for speculative decoding that verifies a drafted output
(a SLOW step mostly copies its prompt) in a few passes instead of one step per token.

    python bench/decode_step_cost.py CHECKPOINT_OR_RUN_DIR [--digits 20] [--batches 8 64 256 512]
"""
from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import numpy as np
import torch

from sector.decoding import _greedy_batch
from sector.model import ByteCodec
from sector.rundir import load_checkpoint
from sector.tasks import get_task


def timed(fn, repeats: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--digits", type=int, default=20)
    ap.add_argument("--batches", type=int, nargs="+", default=[8, 64, 256, 512])
    args = ap.parse_args()
    model = load_checkpoint(args.checkpoint).eval()
    task, _ = get_task("addition")
    codec = ByteCodec()
    problems = task.sample(np.random.default_rng(0), args.digits, max(args.batches))
    prompts = [task.slow_prompt(p) for p in problems]
    steps = len(prompts[0]) + 1  # a SLOW answer: about as long as its prompt
    print(f"torch threads {torch.get_num_threads()}; {args.digits}-digit SLOW prompts; output length {steps}")
    print("batch precision | ms per cached step | ms per teacher-forced pass | pass / step")
    for batch in args.batches:
        ids, mask = codec.encode(prompts[:batch])
        for bf16 in (False, True):
            with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
                step = timed(lambda: _greedy_batch(model, ids, mask, steps)) / steps
                encoded = model.get_encoder()(input_ids=ids, attention_mask=mask)
                decoder_ids = torch.zeros(batch, steps, dtype=torch.long)
                full = timed(lambda: model(encoder_outputs=encoded, attention_mask=mask,
                                           decoder_input_ids=decoder_ids))
            print(f"{batch:5d} {'bf16' if bf16 else 'fp32'} | {step * 1e3:8.1f} | {full * 1e3:8.0f} | {full / step:5.1f}")


if __name__ == "__main__":
    main()
