"""Labelling speed: Simplify-then-Guess + commutativity labels per second, with sector's
batched greedy decoder against transformers' `generate()`, on the same checkpoint and
the same problems, in one process (so the ratio is fair on a noisy machine). Seven
labellers: ours as the loop runs it (votes stop once settled, SLOW steps drafted from
their prompts, FAST guesses from the guess a level up or, for a twin, from the label), the
same with SLOW drafts only, the same without drafts, ours asking all K candidates
(drafted), and `generate()` asking all K (plain batched greedy: its own drafting, assisted
or prompt-lookup generation, takes one sequence at a time); then ours (drafted and not) and
`generate()` again with the weights in bfloat16 (`decoding.in_bf16`). Every arm's labels
are compared with those of `generate()` in float32, and the bf16 drafted arm's with the bf16
undrafted one's (a draft is checked in one pass, which rounds differently from step-by-step
decoding).

    python bench/label_speed.py [CHECKPOINT_OR_RUN_DIR] [--digits 20] [--problems 200] [--repeats 2]
                                [--device cpu|cuda]

Without a checkpoint it labels with the shipped reference model. Results: docs/RESULTS.md,
"Speed" ("Labelling against generate()").
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import sector.decoding as decoding
from sector import get_task, load_model, prompt_format_of
from sector.labelling import Commutativity, SimplifyThenGuess, apply_filters
from sector.model import EOS, PAD, ByteCodec

ours = decoding.greedy


def undrafted(model, prompts, max_new_tokens, drafts=None, **kw):
    return ours(model, prompts, max_new_tokens, **kw)


def slow_drafts_only(model, prompts, max_new_tokens, drafts=None, **kw):
    fast_prompts = not prompts or prompts[0].startswith("F")  # a call holds one kind of prompt
    return ours(model, prompts, max_new_tokens, drafts=None if fast_prompts else drafts, **kw)


@torch.no_grad()
def with_generate(model, prompts, max_new_tokens, batch_size=512, bf16=False, drafts=None):
    codec, out = ByteCodec(), []
    model = decoding.in_bf16(model) if bf16 else model
    for start in range(0, len(prompts), batch_size):
        ids, mask = codec.encode(prompts[start : start + batch_size])
        ids, mask = ids.to(model.device), mask.to(model.device)
        gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                             do_sample=False, num_beams=1, decoder_start_token_id=PAD,
                             eos_token_id=EOS, pad_token_id=PAD)
        out += codec.decode(gen[:, 1:])
    return out


def label(model, task, problems, settle, bf16):
    labeller = SimplifyThenGuess(k=5, stop_when_settled=settle, decode_kw={"bf16": bf16})
    labels = labeller(model, task, problems)
    apply_filters(model, task, labeller, [Commutativity()], labels)
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", nargs="?", help="a checkpoint or run directory (default: the reference model)")
    ap.add_argument("--digits", type=int, default=20, help="length of the labelled problems")
    ap.add_argument("--problems", type=int, default=200, help="fresh problems labelled by every arm")
    ap.add_argument("--repeats", type=int, default=2, help="times each arm runs; the best rate counts")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    if min(args.digits, args.problems, args.repeats) < 1:
        ap.error("--digits, --problems and --repeats must be >= 1")
    model = load_model(args.checkpoint).to(args.device).eval()
    task, _ = get_task("addition", prompt_format_of(model))
    problems = task.sample(np.random.default_rng(0), args.digits, args.problems)
    configs = [("sector, settled vote", ours, True, False),
               ("sector, settled, SLOW drafts", slow_drafts_only, True, False),
               ("sector, settled, no drafts", undrafted, True, False),
               ("sector, full vote", ours, False, False), ("generate(), full vote", with_generate, False, False),
               ("sector, settled vote, bf16", ours, True, True),
               ("sector, settled, no drafts, bf16", undrafted, True, True),
               ("generate(), full vote, bf16", with_generate, False, True)]
    rates: dict[str, list[float]] = {}
    labels = {}
    try:
        for name, greedy, settle, bf16 in configs * args.repeats:
            decoding.greedy = greedy  # every labeller and filter decodes through decoding.greedy
            t0 = time.perf_counter()
            labels[name] = label(model, task, problems, settle, bf16)
            rates.setdefault(name, []).append(len(problems) / (time.perf_counter() - t0))
    finally:
        decoding.greedy = ours
    reference = [(lab.label, lab.reason) for lab in labels["generate(), full vote"]]
    base = max(rates["generate(), full vote"])
    for name, runs in rates.items():
        same = sum(got == want for got, want in zip([(lab.label, lab.reason) for lab in labels[name]], reference))
        print(f"{name:33s} {max(runs):8.1f} labelled problems/s (best of {args.repeats})"
              f"  {max(runs) / base:5.2f}x  same label and verdict as generate() in float32: {same} / {len(reference)}")
    drafted, plain = (labels[f"sector, settled{arm}, bf16"] for arm in (" vote", ", no drafts"))
    same = sum((a.label, a.reason) == (b.label, b.reason) for a, b in zip(drafted, plain))
    print(f"bf16, drafted against undrafted: same label and verdict on {same} / {len(plain)}")


if __name__ == "__main__":
    main()
