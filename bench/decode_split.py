"""Where S&G labelling spends its time, and what bf16 buys each part: S&G (K=5, settled
vote) + commutativity on COUNT fresh DIGITS-digit problems, decode batch 512, with the
encoder and each `greedy` call timed (SLOW-step prompts apart from FAST ones). Three ways
to run the same model, alternating, best of 2:

- fp32: as the default preset decodes where bf16 is emulated (session 17, when this ran: everywhere);
- encoder bf16: only the encoder under bf16 autocast, its output cast back to float32,
  so the decoder's steps (overhead-bound, docs/RESULTS.md session 4) stay as they are;
- all bf16: the whole of `greedy` under bf16 autocast (not what `decode_precision=bf16`
  does since session 22: a bfloat16 copy of the weights).

Labels and verdicts are compared with fp32's, and their correctness counted post hoc.

    python bench/decode_split.py CHECKPOINT [DIGITS] [COUNT]
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import numpy as np
import torch

import sector.decoding as decoding
from sector.labelling import Commutativity, SimplifyThenGuess, apply_filters
from sector.rundir import load_checkpoint
from sector.tasks import get_task

MODES = ("fp32", "encoder bf16", "all bf16")


@contextmanager
def timed_parts(model, encoder_bf16: bool):
    """Seconds spent in the encoder and in `greedy` on SLOW and on FAST prompts."""
    seconds = {"encoder": 0.0, "greedy SLOW": 0.0, "greedy FAST": 0.0}
    encoder, plain_forward, plain_greedy = model.get_encoder(), model.get_encoder().forward, decoding.greedy

    def encode(*args, **kw):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=encoder_bf16):
            out = plain_forward(*args, **kw)
        out.last_hidden_state = out.last_hidden_state.float()
        seconds["encoder"] += time.perf_counter() - t0
        return out

    def greedy(model_, prompts, *args, **kw):
        t0 = time.perf_counter()
        out = plain_greedy(model_, prompts, *args, **kw)
        seconds["greedy SLOW" if prompts and prompts[0].startswith("S") else "greedy FAST"] += time.perf_counter() - t0
        return out

    encoder.forward, decoding.greedy = encode, greedy
    try:
        yield seconds
    finally:
        encoder.forward, decoding.greedy = plain_forward, plain_greedy


def label(model, task, problems, mode: str) -> tuple[float, dict, list]:
    labeller = SimplifyThenGuess(k=5, decode_kw={"batch_size": 512, "bf16": mode == "all bf16"})
    with timed_parts(model, encoder_bf16=mode == "encoder bf16") as parts:
        t0 = time.perf_counter()
        labels = labeller(model, task, problems)
        apply_filters(model, task, labeller, [Commutativity()], labels)
        total = time.perf_counter() - t0
    return total, dict(parts), [(lab.label, lab.accepted) for lab in labels]


def main() -> None:
    path, digits, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20, \
        int(sys.argv[3]) if len(sys.argv) > 3 else 400
    torch.manual_seed(0)
    model = load_checkpoint(path).eval()
    task, oracle = get_task("addition")
    problems = task.sample(np.random.default_rng(1), digits, count)
    best: dict[str, tuple[float, dict]] = {}
    verdicts = {}
    for _ in range(2):
        for mode in MODES:
            total, parts, verdicts[mode] = label(model, task, problems, mode)
            if mode not in best or total < best[mode][0]:
                best[mode] = (total, parts)
            print(f"{mode:13s} {total:6.1f} s  " + "  ".join(f"{k} {v:5.1f} s" for k, v in parts.items()), flush=True)
    truth = [oracle.answer(p) for p in problems]
    base = best["fp32"][0]
    print(f"\n{digits} digits, {count} problems; best of 2")
    for mode in MODES:
        total, parts = best[mode]
        same = sum(a == b for a, b in zip(verdicts[mode], verdicts["fp32"]))
        accepted = sum(ok for _, ok in verdicts[mode])
        wrong = sum(ok and lab != t for (lab, ok), t in zip(verdicts[mode], truth))
        print(f"{mode:13s} {count / total:5.1f} problems/s  {base / total:4.2f}x  "
              + "  ".join(f"{k} {v / total:4.0%}" for k, v in parts.items())
              + f"  same as fp32 {same}/{count}  accepted {accepted}  wrong accepted {wrong}")


if __name__ == "__main__":
    main()
