"""Where a model's addition breaks: by problem family and length, FAST's exact match, one
SLOW step's exact match and what its wrong steps look like, and (--labels) what the loop's
labeller and filters make of the same problems. Ground truth (the task's oracle) scores;
nothing is trained or written but the --json file.

Problem families (FAMILIES; every operand has exactly n digits, leading digit non-zero
unless zero-padded, and a carry-in of 0 or 1 unless said otherwise):

    uniform      digits drawn uniformly, as the rounds draw their problems
    mixed        one operand of 1..n digits (uniform), written zero-padded to n
    carry-chain  a carry through every column: a + b = 10^n + r (r in 0..2) or a + b + 1 = 10^n
    zeros        each digit 0 with probability 0.8 (the leading one excepted)
    nines-zeros  one operand mostly 9s (probability 0.8 a digit), the other mostly 0s

Per family and length:

    FAST         the share of exactly right FAST answers
    SLOW step    the share of exactly right single SLOW steps (the digit and the whole
                 remaining problem, as the model writes them); the wrong ones by length
                 against the right step: too short (of which: one digit dropped from a run
                 of equal digits; the trailing carry term "+1" left out), too long (one
                 digit added to a run; a carry term added), same length
    --labels     the share of labels the labeller and filters of --preset/--set accept,
                 and how many accepted labels are wrong

    python bench/errors.py                                        # the reference model, uniform, 8 16 24 32 digits
    python bench/errors.py --digits 33 36 40 46 --count 300 --family uniform mixed
    python bench/errors.py runs/default --family carry-chain zeros nines-zeros --labels --json errors.json

Results: docs/RESULTS.md ("After the run, on the reference model" and "Structured problems").
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from sector import FILTERS, LABELLERS, PRESETS, Problem, get_task, load_model, preset, solve
from sector.config import parse_setting
from sector.decoding import greedy
from sector.experiment import decode_settings
from sector.labelling import label_and_filter

# -- problem families: (rng, digits, count) -> problems --------------------------------------

def uniform(rng: np.random.Generator, digits: int, count: int) -> list[Problem]:
    return get_task("addition")[0].sample(rng, digits, count)


def mixed(rng: np.random.Generator, digits: int, count: int) -> list[Problem]:
    return get_task("addition")[0].sample(rng, digits, count, mixed=1.0)


def carry_chain(rng: np.random.Generator, digits: int, count: int) -> list[Problem]:
    """Half a + b + 1 = 10^n, half a + b = 10^n + r with r uniform in 0..2. a's leading digit
    is 1..8, so that b = 10^n (+ r) - a (- 1) has n digits too."""
    out = []
    while len(out) < count:
        a = int("".join(map(str, [rng.integers(1, 9), *rng.integers(0, 10, digits - 1)])))
        carry, r = int(rng.integers(0, 2)), int(rng.integers(0, 3))
        b = 10**digits - 1 - a if carry else 10**digits + r - a
        if len(str(b)) == digits:  # only 1-digit problems with a <= r miss
            out.append(Problem(str(a), str(b), carry))
    return out


def heavy_operand(rng: np.random.Generator, digits: int, count: int, digit: int, share: float = 0.8) -> np.ndarray:
    """`count` n-digit operands, each digit `digit` with probability `share`, else another
    digit drawn uniformly; the leading digit never 0."""
    others = [d for d in range(10) if d != digit]
    body = np.where(rng.random((count, digits)) < share, digit, rng.choice(others, size=(count, digits)))
    lead = body[:, 0]
    lead[lead == 0] = rng.integers(1, 10, size=int((lead == 0).sum()))
    return body


def as_problems(rng: np.random.Generator, left: np.ndarray, right: np.ndarray, swap: bool) -> list[Problem]:
    """Problems of the operand rows, with a random carry-in (and, with `swap`, the operands
    in random order)."""
    out = []
    for a, b, carry, flip in zip(left, right, rng.integers(0, 2, len(left)), rng.random(len(left)) < 0.5):
        a, b = "".join(map(str, a)), "".join(map(str, b))
        out.append(Problem(*((b, a) if swap and flip else (a, b)), int(carry)))
    return out


def zeros(rng: np.random.Generator, digits: int, count: int) -> list[Problem]:
    return as_problems(rng, heavy_operand(rng, digits, count, 0), heavy_operand(rng, digits, count, 0), swap=False)


def nines_zeros(rng: np.random.Generator, digits: int, count: int) -> list[Problem]:
    return as_problems(rng, heavy_operand(rng, digits, count, 9), heavy_operand(rng, digits, count, 0), swap=True)


FAMILIES: dict[str, Callable[[np.random.Generator, int, int], list[Problem]]] = {
    "uniform": uniform, "mixed": mixed, "carry-chain": carry_chain, "zeros": zeros, "nines-zeros": nines_zeros,
}


# -- measuring --------------------------------------------------------------------------------

def dropped_from_run(short: str, long: str) -> bool:
    """Whether `short` is `long` with one digit taken out of a run of two or more equal digits."""
    if len(short) != len(long) - 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(short, long)) if x != y), len(short))
    return (short == long[:i] + long[i + 1:] and long[i].isdigit()
            and long[i] in long[max(0, i - 1) : i] + long[i + 1 : i + 2])


def step_errors(texts: list[str], truths: list[str]) -> dict[str, int]:
    """The wrong steps among `texts` by their length against the right ones (`truths`)."""
    kinds = dict.fromkeys(("short", "run_dropped", "carry_left_out", "long", "run_added", "carry_added", "same"), 0)
    for out, want in zip(texts, truths):
        if out == want:
            continue
        if len(out) < len(want):
            kinds["short"] += 1
            kinds["run_dropped"] += dropped_from_run(out, want)
            kinds["carry_left_out"] += out + "+1" == want
        elif len(out) > len(want):
            kinds["long"] += 1
            kinds["run_added"] += dropped_from_run(want, out)
            kinds["carry_added"] += out == want + "+1"
        else:
            kinds["same"] += 1
    return kinds


def measure(model, problems: list[Problem], labels: tuple | None) -> dict:
    """One length's row: FAST, one SLOW step (for problems of 2 digits or more) and, given
    `labels` = (labeller, filters), what they accept."""
    task, oracle = get_task("addition")
    truth = [oracle.answer(p) for p in problems]
    row = {"digits": problems[0].digits, "n": len(problems),
           "fast": float(np.mean([a == t for a, t in zip(solve(model, problems), truth)]))}
    if task.can_reduce(problems[0]):
        prompts = [task.slow_prompt(p) for p in problems]
        texts = greedy(model, prompts, max(map(len, prompts)) + 3, drafts=[task.slow_draft(p) for p in problems])
        steps = [task.slow_target(*oracle.slow_step(p)) for p in problems]
        row["slow_step"] = float(np.mean([t == s for t, s in zip(texts, steps)]))
        row["slow_wrong"] = step_errors(texts, steps)
    if labels is not None:
        labeller, filters = labels
        made, _ = label_and_filter(model, task, labeller, filters, problems)
        accepted = [lab.label == t for lab, t in zip(made, truth) if lab.accepted]
        row["accepted"] = len(accepted) / len(made)
        row["accepted_wrong"] = accepted.count(False)
    return row


def table_line(family: str, row: dict) -> str:
    slow = "-"
    if "slow_step" in row:
        w = row["slow_wrong"]
        slow = (f"{row['slow_step']:.3f} | short {w['short']} (run -1: {w['run_dropped']}, +1 left out: "
                f"{w['carry_left_out']}), long {w['long']} (run +1: {w['run_added']}, +1 added: {w['carry_added']}), "
                f"same length {w['same']}")
    labels = f" | accepted {row['accepted']:.3f}, {row['accepted_wrong']} wrong" if "accepted" in row else ""
    return (f"{family:11s} | {row['digits']:3d} digits | n {row['n']} | FAST {row['fast']:.3f} | "
            f"SLOW step {slow}{labels}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", nargs="?", help="a checkpoint or run directory (default: the reference model)")
    ap.add_argument("--digits", type=int, nargs="+", default=[8, 16, 24, 32], help="lengths to measure")
    ap.add_argument("--count", type=int, default=200, help="problems per family and length")
    ap.add_argument("--family", nargs="+", default=["uniform"], choices=list(FAMILIES), help="problem families")
    ap.add_argument("--seed", type=int, default=0, help="draws the problems (the same for every checkpoint)")
    ap.add_argument("--labels", action="store_true", help="also label the problems as a round would")
    ap.add_argument("--preset", default="default", choices=list(PRESETS),
                    help="--labels: the labeller, filters and decoding precision of this preset")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="--labels: a config setting on top of --preset (e.g. rounds.filters=[])")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--json", dest="json_out", metavar="FILE", help="write every row here")
    args = ap.parse_args()
    if min(args.digits) < 1 or args.count < 1:
        ap.error("--digits and --count must be >= 1")
    labels = None
    if args.labels:
        cfg = preset(args.preset)
        try:
            cfg.update(dict(parse_setting(cfg, text) for text in args.set))
            cfg.validate()
        except ValueError as e:
            ap.error(str(e))
        decode_kw = decode_settings(cfg)
        labels = (LABELLERS[cfg.rounds.labeller](cfg.rounds, decode_kw),
                  [FILTERS[name](decode_kw) for name in cfg.rounds.filters])
    model = load_model(args.checkpoint).to(args.device).eval()
    rows = []
    for family in args.family:
        for n in args.digits:
            problems = FAMILIES[family](np.random.default_rng([args.seed, n]), n, args.count)
            rows.append({"family": family, **measure(model, problems, labels)})
            print(table_line(family, rows[-1]), flush=True)
    if args.json_out:
        settings = {"preset": args.preset, "set": args.set} if args.labels else None
        Path(args.json_out).write_text(json.dumps({"checkpoint": args.checkpoint or "reference", "seed": args.seed,
                                                   "labels": settings, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
