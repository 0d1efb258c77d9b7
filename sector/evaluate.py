"""Evaluation with ground truth: per-length exact match with Wilson 95% intervals on the
suites and on phase 1's gate (split across ranks), and the post-hoc error of self-labels.
Its numbers are reported, never used to choose data: the loop hands the evaluator a model
or finished labels and only writes down what comes back."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from sector.decoding import MODES, slow_steps
from sector.distributed import World
from sector.model import Model
from sector.tasks import Oracle, Problem, Task

if TYPE_CHECKING:  # labels are scored after the fact; evaluation depends on no labelling code
    from sector.labelling import Label


# The frontier: the longest D with FAST at or above this on every length 1..D, on uniform
# problems (the paper's measure). The strict frontier asks it of the structured suites too,
# pooled, with no single suite below FAMILY_FLOOR.
FRONTIER_ACCURACY = 0.98
FAMILY_FLOOR = 0.95


def frontier_of(rows: list[dict]) -> int:
    """The frontier of per-length FAST rows on uniform problems (say, a final evaluation)."""
    reached = 0
    uniform = (r for r in rows if r["mode"] == "fast" and r.get("suite", "uniform") == "uniform")
    for row in sorted(uniform, key=lambda r: r["digits"]):
        if row["accuracy"] < FRONTIER_ACCURACY or row["digits"] != reached + 1:
            break
        reached = row["digits"]
    return reached


def strict_frontier(rows: list[dict]) -> int | None:
    """The longest D such that on every length 1..D FAST is at FRONTIER_ACCURACY on uniform
    problems and on the structured suites pooled, and at FAMILY_FLOOR on each of them; None
    where no structured suite was scored."""
    if not any(r.get("suite", "uniform") != "uniform" for r in rows if r["mode"] == "fast"):
        return None
    by_length: dict[int, dict[str, dict]] = {}
    for r in rows:
        if r["mode"] == "fast":
            by_length.setdefault(r["digits"], {})[r.get("suite", "uniform")] = r
    reached = 0
    for digits in sorted(by_length):
        suites = by_length[digits]
        structured = [r for suite, r in suites.items() if suite != "uniform"]
        if digits != reached + 1 or "uniform" not in suites or not structured:
            break
        pooled = sum(r["correct"] for r in structured) / max(1, sum(r["n"] for r in structured))
        if (suites["uniform"]["accuracy"] < FRONTIER_ACCURACY or pooled < FRONTIER_ACCURACY
                or min(r["accuracy"] for r in structured) < FAMILY_FLOOR):
            break
        reached = digits
    return reached


def worst_suite(rows: list[dict], up_to: int) -> dict | None:
    """The FAST row of lowest accuracy on lengths 1..`up_to`, over every suite."""
    fast_rows = [r for r in rows if r["mode"] == "fast" and r["digits"] <= up_to]
    return min(fast_rows, key=lambda r: (r["accuracy"], r["digits"]), default=None)


def wilson(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # The interval holds p exactly; floating point can leave a bound one rounding step short.
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def score_row(mode: str, digits: int, correct: int, n: int, **extra) -> dict:
    """One metrics row: `correct` of `n` for a mode and length, with its Wilson 95% interval and `extra` keys."""
    lo, hi = wilson(correct, n)
    return {"mode": mode, "digits": digits, "n": n, "correct": correct,
            "accuracy": correct / n if n else 0.0, "ci_low": lo, "ci_high": hi, **extra}


def merge_rows(parts: list[list[dict]]) -> list[dict]:
    """Rows scored on disjoint shards of the same problems (one list per rank), as one list
    scored on all of them; keys other than the counts keep the first shard's values."""
    if len(parts) == 1:
        return parts[0]
    merged: dict[tuple, dict] = {}
    for row in (r for part in parts for r in part):
        key = (row["mode"], row["digits"])
        if key not in merged:
            merged[key] = dict(row)
        else:
            m = merged[key]
            m["correct"] += row["correct"]
            m["n"] += row["n"]
    return [{**m, **score_row(m["mode"], m["digits"], m["correct"], m["n"])} for m in merged.values()]


def per_length(mode: str, problems_by_length: dict[int, list], right: list[bool]) -> list[dict]:
    """Rows for `right`, the hits of all lengths' problems in order, split back by length."""
    ends = np.cumsum([len(ps) for ps in problems_by_length.values()])
    return [score_row(mode, digits, int(hits.sum()), len(hits))
            for digits, hits in zip(problems_by_length, np.split(np.array(right, dtype=int), ends[:-1]))]


def score_sharded(world: World, score: Callable[[dict], list[dict]], problems_by_length: dict[int, list]) -> list[dict]:
    """`score` (a function of problems by length, returning rows) run on this rank's shard of
    every length, with the rows of all ranks merged: the same rows on every rank."""
    mine = score({d: world.shard(ps) for d, ps in problems_by_length.items()})
    return merge_rows(world.gather([mine]))


@dataclass
class Evaluator:
    """Scores a model or finished labels against the task's answer function (`oracle`), decoding with
    `decode_kw`; the only holder of ground truth after phase 1, and it only reports. `suites`
    and `gate` split their problems across the ranks of `world` and return every rank the same rows."""

    task: Task
    oracle: Oracle
    decode_kw: dict
    world: World = World()

    def suites(self, model: Model, stream: Callable[[str], np.random.Generator], lengths: range, count: int,
               slow_lengths: range = range(0), family_count: int = 0) -> list[dict]:
        """FAST on `count` fresh uniform problems a length, the full SLOW chain on those of
        `slow_lengths`, and FAST on `family_count` problems a length of each of the task's
        other families (the structured suites). Each suite draws from `stream(suite)`; each
        row names its suite."""
        problems = self.fresh_problems(stream("uniform"), lengths, count)
        rows = [{"suite": "uniform", **r} for r in score_sharded(
            self.world, lambda mine: self.accuracy(model, mine, modes=("fast",))
            + self.accuracy(model, {d: p for d, p in mine.items() if d in slow_lengths}, modes=("slow",)), problems)]
        for family in [f for f in self.task.families if f != "uniform"] if family_count else ():
            problems = self.fresh_problems(stream(family), lengths, family_count, family)
            rows += [{"suite": family, **r} for r in score_sharded(
                self.world, lambda mine: self.accuracy(model, mine, modes=("fast",)), problems)]
        return rows

    def gate(self, model: Model, problems_by_length: dict[int, list[Problem]]) -> list[dict]:
        """Phase 1's gate rows: FAST on every length, one SLOW step on those past 1 digit."""
        return score_sharded(self.world, lambda mine: self.accuracy(model, mine, modes=("fast",))
                             + self.step_accuracy(model, {d: ps for d, ps in mine.items() if d > 1}),
                             problems_by_length)

    def accuracy(self, model: Model, problems_by_length: dict[int, list[Problem]],
                 modes: tuple[str, ...] = ("fast", "slow")) -> list[dict]:
        """Exact-match rows for FAST and the full SLOW chain, one per (mode, length). Each
        mode decodes every length in one call, so batches fill up with short problems too."""
        problems = [p for ps in problems_by_length.values() for p in ps]
        truth = [self.oracle.answer(p) for p in problems]
        rows = []
        for mode in modes:
            got = MODES[mode](model, self.task, problems, **self.decode_kw)
            rows += per_length(mode, problems_by_length, [g == t for g, t in zip(got, truth)])
        return rows

    def step_accuracy(self, model: Model, problems_by_length: dict[int, list[Problem]]) -> list[dict]:
        """Exact-match rows for a single SLOW step (the emitted digit and the remaining problem)."""
        problems = [p for ps in problems_by_length.values() for p in ps]
        got = slow_steps(model, self.task, problems, **self.decode_kw)
        return per_length("slow_step", problems_by_length,
                          [g == self.oracle.slow_step(p) for g, p in zip(got, problems)])

    def fresh_problems(self, rng: np.random.Generator, lengths: Iterable[int], count: int,
                       family: str = "uniform") -> dict[int, list[Problem]]:
        """`count` problems of the family per length: a suite of the evaluation."""
        return {d: self.task.sample(rng, d, count, family) for d in lengths}

    def label_quality(self, labels: list[Label]) -> tuple[list[dict], list[dict]]:
        """Rows scoring each labelling method against the truth, one per (method, length), and
        one truth record per label for the evaluation file. Methods: FAST alone, the labeller's
        first candidate (S&G: one SLOW step, then FAST), its vote, and the vote + every filter
        (the labels actually trained on)."""
        truth = [self.oracle.answer(lab.problem) for lab in labels]
        methods = {
            "label_fast": lambda lab: lab.fast,
            "label_slow": lambda lab: lab.candidates[0] if lab.candidates else None,
            "label_sng": lambda lab: lab.label,
        }
        rows = []
        for digits in sorted({lab.problem.digits for lab in labels}):
            mine = [(lab, t) for lab, t in zip(labels, truth) if lab.problem.digits == digits]
            for name, guess in methods.items():
                rows.append(score_row(name, digits, sum(guess(lab) == t for lab, t in mine), len(mine)))
            accepted = [(lab, t) for lab, t in mine if lab.accepted]
            rows.append(score_row("label_accepted", digits, sum(lab.label == t for lab, t in accepted), len(accepted)))
        records = [{"problem": str(lab.problem), "digits": lab.problem.digits, "family": lab.problem.family,
                    "truth": str(t),
                    "label_correct": lab.label == t, "fast_correct": lab.fast == t, "accepted": lab.accepted}
                   for lab, t in zip(labels, truth)]
        return rows, records
