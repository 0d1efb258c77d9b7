"""Does training the copy task on long strings with doubled characters make the SLOW step
drop fewer characters past its trained length? Two arms fine-tune the same checkpoint for
the same steps on the same supervised 1..6-digit data (phase 1's kind: no answers at the
probed lengths) plus copy strings, differing only in the copy strings:

    uniform: lengths uniform in 1..L (the loop's copy task)
    long-doubled: lengths uniform in L/2..L, each character repeating the one before with
        probability 0.2 (short runs throughout; what the loop's rounds now copy by default)
    padded (with --arms): long-doubled digit strings written as two operands, one ending in
        a run of zeros: the shape of a mixed-length SLOW step's tail

then score exact copies at long lengths and the SLOW step at n digits past the checkpoint's
trained length (with --mixed: on mixed-length problems), against the truth (a probe; no
run trains on these answers).

    python bench/copy_transfer_probe.py CHECKPOINT [--digits 24 25 26] [--steps 200] [--copy-max 66] [--seed 1]
        [--mixed] [--arms uniform long-doubled padded]
"""
from __future__ import annotations

import argparse

import numpy as np

from sector.decoding import greedy
from sector.loop import supervised_examples
from sector.rundir import load_checkpoint
from sector.tasks import get_task
from sector.tasks.copying import copy_examples
from sector.training import Pool, TrainConfig, Trainer, mixed_batches

SYMBOLS = "0123456789+"


def padded_like(rng: np.random.Generator, count: int, max_len: int) -> list[tuple[str, str]]:
    """Long doubled-digit copies written as two operands, one with a zero tail of uniform
    length: the shape of a mixed-length SLOW step's tail (least significant digit first)."""
    out = []
    for _, text in copy_examples(rng, count, max_len - 1, "0123456789", repeat=0.2, min_len=max_len // 2):
        half = len(text) // 2
        parts = [text[:half], text[half:]]
        padded = int(rng.integers(0, 2))
        zeros = int(rng.integers(1, len(parts[padded]) + 1))
        parts[padded] = parts[padded][: len(parts[padded]) - zeros] + "0" * zeros
        out.append(("C" + "+".join(parts), "+".join(parts)))
    return out


def score(model, task, oracle, digits, copy_lengths, rng, mixed: float = 0.0) -> dict[str, float]:
    row = {}
    for n in digits:
        problems = task.sample(rng, n, 300, mixed)
        outs = greedy(model, [task.slow_prompt(p) for p in problems], 2 * n + 6)
        row[f"slow@{n}"] = np.mean([o == task.slow_target(*oracle.slow_step(p)) for o, p in zip(outs, problems)])
    for length in copy_lengths:
        texts = ["".join(rng.choice(list(SYMBOLS), size=length)) for _ in range(300)]
        outs = greedy(model, ["C" + t for t in texts], length + 3)
        row[f"copy@{length}"] = np.mean([o == t for o, t in zip(outs, texts)])
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--digits", type=int, nargs="+", default=[24, 25, 26])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--copy-max", type=int, default=66)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=1, help="of the training batches (the scored problems are fixed)")
    ap.add_argument("--mixed", action="store_true", help="score SLOW steps of mixed-length problems")
    ap.add_argument("--arms", nargs="+", default=["uniform", "long-doubled"])
    args = ap.parse_args()
    task, oracle = get_task("addition")
    rng = np.random.default_rng(0)
    supervised = [ex for d in range(1, 7) for ex in supervised_examples(task, oracle, rng, d, 2000)]
    copy_lengths = [54, 60, 64]
    base = load_checkpoint(args.checkpoint)
    mixed = 1.0 if args.mixed else 0.0
    print("before", {k: round(float(v), 3) for k, v in score(base, task, oracle, args.digits, copy_lengths,
                                                              np.random.default_rng(9), mixed).items()})
    arms = {"uniform": lambda r, n: copy_examples(r, n, args.copy_max, SYMBOLS, runs=0.5),
            "long-doubled": lambda r, n: copy_examples(r, n, args.copy_max, SYMBOLS, repeat=0.2,
                                                       min_len=args.copy_max // 2),
            "padded": lambda r, n: padded_like(r, n, args.copy_max)}
    for name in args.arms:
        copies = arms[name]
        model = load_checkpoint(args.checkpoint)
        trainer = Trainer(model, TrainConfig(lr=args.lr, warmup_steps=20, precision="fp32"))
        pools = [Pool("supervised", 0.5, supervised), Pool("copy", 0.5, copies)]
        stats = trainer.train(mixed_batches(pools, 64, args.steps, np.random.default_rng(args.seed)), args.steps,
                              desc=name)
        row = score(model, task, oracle, args.digits, copy_lengths, np.random.default_rng(9), mixed)
        print(name, f"loss {stats['loss']:.3f}", {k: round(float(v), 3) for k, v in row.items()})


if __name__ == "__main__":
    main()
