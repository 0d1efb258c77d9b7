"""Where a model's addition breaks: by problem family and length, FAST's exact match, one
SLOW step's exact match and what its wrong steps look like, and (--labels) what the loop's
labeller and filters make of the same problems. Ground truth (the task's oracle) scores;
nothing is trained or written but the --json file.

Problem families are the task's own (sector/tasks/families.py: uniform, mixed, carry_chain,
zero_heavy, nine_heavy, repeated), the ones the loop samples and `sector eval --suite` scores.

Per family and length:

    FAST         the share of exactly right FAST answers
    SLOW step    the share of exactly right single SLOW steps (the digit and the whole
                 remaining problem, as the model writes them); the wrong ones by length
                 against the right step: too short (of which: one character dropped from a
                 run of equal characters; the trailing carry term "+1" left out), too long
                 (one added to a run; a carry term added), same length. Runs of equal
                 characters are those of the plain format: the columns format puts a letter
                 between every two digits, so there a miscopied run shows as short or long
    --labels     the share of labels the labeller and filters of --preset/--set accept,
                 and how many accepted labels are wrong

    python bench/errors.py                                        # the reference model, uniform, 8 16 24 32 digits
    python bench/errors.py --digits 33 36 40 46 --count 300 --family uniform mixed
    python bench/errors.py runs/default --family carry_chain zero_heavy nine_heavy --labels --json errors.json

Results: docs/RESULTS.md ("After the run, on the reference model" and "Structured problems").
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from sector import PRESETS, Problem, get_task, load_model, preset, prompt_format_of, solve
from sector.config import parse_setting
from sector.decoding import greedy
from sector.experiment import decode_settings
from sector.labelling import label_and_filter, labelling_from_config

ADDITION = get_task("addition")[0]

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
    task, oracle = get_task("addition", prompt_format_of(model))
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
    ap.add_argument("--family", nargs="+", default=["uniform"], choices=ADDITION.families, help="problem families")
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
        labels = labelling_from_config(cfg.rounds, decode_kw)
    model = load_model(args.checkpoint).to(args.device).eval()
    rows = []
    for family in args.family:
        for n in args.digits:
            problems = ADDITION.sample(np.random.default_rng([args.seed, n]), n, args.count, family)
            rows.append({"family": family, **measure(model, problems, labels)})
            print(table_line(family, rows[-1]), flush=True)
    if args.json_out:
        settings = {"preset": args.preset, "set": args.set} if args.labels else None
        Path(args.json_out).write_text(json.dumps({"checkpoint": args.checkpoint or "reference", "seed": args.seed,
                                                   "labels": settings, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
