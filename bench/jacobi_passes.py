"""Could a FAST guess with nothing to draft from be decoded in parallel (Jacobi decoding)?
Start every position from a constant guess, run the decoder over all positions at once,
feed its predictions back as the next guess, and count the passes until they equal the
greedy output. A pass that fixes many positions at once would beat one step per token;
about one or two per pass would not (each pass costs as much as the whole output).

    python bench/jacobi_passes.py CHECKPOINT [--digits 10 20] [--problems 200]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from sector.decoding import greedy
from sector.model import EOS, PAD, ByteCodec
from sector.rundir import load_checkpoint
from sector.tasks import get_task


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--digits", type=int, nargs="+", default=[10, 20])
    ap.add_argument("--problems", type=int, default=200)
    args = ap.parse_args()
    model, codec = load_checkpoint(args.checkpoint).eval(), ByteCodec()
    task, _ = get_task("addition")
    for digits in args.digits:
        problems = task.sample(np.random.default_rng(0), digits, args.problems)
        prompts = [task.fast_prompt(p) for p in problems]
        ids, mask = codec.encode(prompts)
        target = codec.encode(greedy(model, prompts, digits + 3))[0]  # eos, then PAD
        for start in "05":
            guess = codec.encode([start * target.shape[1]] * len(prompts), eos=False)[0]
            passes = torch.zeros(len(prompts), dtype=torch.long)
            for n in range(1, target.shape[1] + 1):
                inputs = torch.cat([torch.full((len(prompts), 1), PAD), guess[:, :-1]], 1)
                guess = model(input_ids=ids, attention_mask=mask, decoder_input_ids=inputs).logits.argmax(-1)
                right = ((guess == target) | (target == PAD)).all(1)
                passes[right & (passes == 0)] = n
            print(f"{digits} digits, guesses start at '{start}': {passes.float().mean():.1f} passes on average "
                  f"(max {int(passes.max())}; 0 = never) for outputs of {target.shape[1]} tokens with eos "
                  f"(greedy: one step per token)")


if __name__ == "__main__":
    main()
