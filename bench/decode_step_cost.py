"""What a decoding step costs against batch size: `transformers`' T5 called once per token
with its KV cache (what `generate()` does, and sector's decoder before cached_decoder.py)
against sector's cached decoder, side by side in one process with the same prompts, and
what one teacher-forced pass over a whole output costs (the ceiling for verifying a
drafted output in one pass instead of one step per token).

    python bench/decode_step_cost.py CHECKPOINT_OR_RUN_DIR [--digits 20] [--batches 8 64 256 512]
"""
from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import numpy as np
import torch
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

from sector.cached_decoder import greedy_tokens
from sector.model import EOS, PAD, ByteCodec
from sector.rundir import load_checkpoint
from sector.tasks import get_task


def per_token_forward(model, ids: torch.Tensor, mask: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Greedy decoding through the model's own forward, one call per token."""
    encoded = model.get_encoder()(input_ids=ids, attention_mask=mask)
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    token = torch.full((ids.shape[0], 1), PAD, dtype=torch.long)
    done = torch.zeros(ids.shape[0], dtype=torch.bool)
    out = []
    for _ in range(max_new_tokens):
        logits = model(encoder_outputs=encoded, attention_mask=mask, decoder_input_ids=token,
                       cache=cache, use_cache=True).logits
        token = logits[:, -1].argmax(-1).masked_fill(done, PAD)[:, None]
        out.append(token)
        done |= token[:, 0] == EOS
        if bool(done.all()):
            break
    return torch.cat(out, dim=1)


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


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
    print("batch precision | ms per step: per-token forward | cached decoder | ratio | same outputs "
          "| ms per teacher-forced pass | pass / cached step")
    for batch in args.batches:
        ids, mask = codec.encode(prompts[:batch])
        for bf16 in (False, True):
            with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
                hf, hf_tokens = timed(lambda: per_token_forward(model, ids, mask, steps))
                ours, our_tokens = timed(lambda: greedy_tokens(model, ids, mask, steps))
                encoded = model.get_encoder()(input_ids=ids, attention_mask=mask)
                decoder_ids = torch.zeros(batch, steps, dtype=torch.long)
                full, _ = timed(lambda: model(encoder_outputs=encoded, attention_mask=mask,
                                              decoder_input_ids=decoder_ids))
            same = sum(a == b for a, b in zip(codec.decode(hf_tokens), codec.decode(our_tokens)))
            print(f"{batch:5d} {'bf16' if bf16 else 'fp32'} | {hf / steps * 1e3:8.1f} | {ours / steps * 1e3:8.1f} | "
                  f"{hf / ours:4.2f}x | {same}/{batch} | {full * 1e3:8.0f} | {full / (ours / steps):5.1f}")


if __name__ == "__main__":
    main()
