"""The training mixtures: which pools of examples a step draws from, in what shares.

Phase 1 draws each supervised length in equal shares beside the generic copy task. A
round draws its new self-labels beside `replay_mixture`: the earlier lengths' data,
weighted toward those FAST has begun to forget, with half their SLOW steps written wider
than they were (`widened_steps`), and a copy task sized to the lengths ahead. Nothing here
holds an answer function: every example comes from data already made.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from sector.config import MixtureConfig
from sector.tasks import Task, slow_example
from sector.tasks.copying import copy_examples, problem_copies
from sector.training import Example, Pool

# A round's mixture: its new self-labels, replayed earlier data and copying, by weight.
NEW_WEIGHT, REPLAY_WEIGHT, COPY_WEIGHT = 0.4, 0.3, 0.3
# Each replayed length's share grows with 1 + REPLAY_FOCUS x FAST's held-out disagreement on it.
REPLAY_FOCUS = 10.0
# The copy task (sector.tasks.copying): a share of strings with a span of one repeated symbol;
# in a round, characters repeating the one before, strings of at least half the longest,
# copies reaching this many digits past the round's length, half of them of problems.
COPY_RUNS, COPY_REPEAT, COPY_MIN_SHARE, COPY_AHEAD, COPY_PROBLEMS = 0.5, 0.2, 0.5, 6, 0.5


def copy_pools(mix: MixtureConfig, task: Task, digits: int = 0) -> list[Pool]:
    """The copy task. In phase 1, strings of the task's symbols up to copy_max_len. In a round
    at `digits`, strings long enough for the copy inside a SLOW step a few lengths ahead
    (copying holds only to the trained length), no shorter than COPY_MIN_SHARE of that and
    with doubled characters: past the frontier a step loses count in runs of equal digits,
    in long copies. A share of a round's copying is of sampled problems with one operand
    zero-padded, about as long, whose zeros a step miscopies even within its trained
    lengths. Shorter lengths are in the replayed data."""
    if not digits:
        return [Pool("copy", COPY_WEIGHT,
                     lambda rng, n: copy_examples(rng, n, mix.copy_max_len, task, COPY_RUNS))]
    max_len = max(mix.copy_max_len, 2 * (digits + COPY_AHEAD) + 2)
    min_len = max(1, round(COPY_MIN_SHARE * max_len))
    longest = digits + COPY_AHEAD
    shortest = max(1, round(COPY_MIN_SHARE * longest))
    return [Pool("copy", COPY_WEIGHT * (1 - COPY_PROBLEMS),
                 lambda rng, n: copy_examples(rng, n, max_len, task, COPY_RUNS, COPY_REPEAT, min_len)),
            Pool("copy-problems", COPY_WEIGHT * COPY_PROBLEMS,
                 lambda rng, n: problem_copies(rng, n, task, shortest, longest))]


def phase1_mixture(mix: MixtureConfig, task: Task, pools: dict[int, list[Example]], lengths: range) -> list[Pool]:
    """A phase-1 stage's training mix: `lengths` in equal shares, and the copy task."""
    return [*(Pool(f"len{d}", (1 - COPY_WEIGHT) / len(lengths), pools[d]) for d in lengths),
            *copy_pools(mix, task)]


def round_mixture(mix: MixtureConfig, task: Task, new: list[Example], replay: dict[int, list[Example]],
                  agree: dict[int, float], digits: int) -> list[Pool]:
    """A round's training mix: its new examples beside `replay_mixture`."""
    return [Pool("new", NEW_WEIGHT, new), *replay_mixture(mix, task, replay, agree, REPLAY_FOCUS, digits)]


def replay_pools(replay: dict[int, list[Example]], weight: float, agree: dict[int, float],
                 focus: float, transform: Callable | None = None) -> list[Pool]:
    """Earlier data by length, sharing `weight`: each length in proportion to
    1 + focus x (1 - agreement of FAST with its held-out self-labels). Training a new length
    unsettles the ones just before it; this replays those most. Past the supervised lengths
    the held-out labels are the model's own (no ground truth); on those lengths, phase 1's
    held-out examples. Every draw goes through `transform` (see `widened_steps`) where there
    is one."""
    raw = {d: 1 + focus * (1 - agree.get(d, 1.0)) for d in replay}
    total = sum(raw.values())
    return [Pool(f"replay{d}", weight * raw[d] / total, ex, transform) for d, ex in replay.items()]


def widened_steps(task: Task, width: int, mixed: float = 0.0) -> Callable[[np.random.Generator, list[Example]], list[Example]]:
    """A pool transform that writes half the SLOW steps of a draw wider, a uniform width from
    their own up to `width`: with leading zeros, or in a share `mixed` of them under the
    digits of a freshly sampled problem with one operand shorter (zero-padded), so that one
    operand runs on at full width while the other ends in a run of zeros. Neither changes the
    digit a step emits nor its carry, so the wider step follows from the step given: no answer
    function. A step past the trained lengths fails by writing an operand as long as the ones
    it was trained on, and a mixed-length problem's step by miscounting its run of zeros;
    this trains the copy at the widths ahead."""
    def widen(rng: np.random.Generator, examples: list[Example]) -> list[Example]:
        out = []
        under = rng.random(len(examples)) < mixed if mixed else np.zeros(len(examples), bool)
        for (prompt, target), pad, where, sampled in zip(examples, rng.random(len(examples)) < 0.5,
                                                         rng.random(len(examples)), under):
            out.append((prompt, target))
            problem = task.parse_slow_prompt(prompt) if pad else None
            if problem is None or problem.digits >= width:
                continue
            step = task.parse_slow(target, problem)
            if step is None:
                continue
            w = problem.digits + int(where * (width - problem.digits + 1))
            high = task.sample(rng, w - problem.digits, 1, "mixed")[0] if sampled and w > problem.digits else None
            out[-1] = slow_example(task, task.pad(problem, w, high), step[0], task.pad(step[1], w - 1, high))
        return out
    return widen


def replay_mixture(mix: MixtureConfig, task: Task, replay: dict[int, list[Example]], agree: dict[int, float],
                   focus: float, digits: int) -> list[Pool]:
    """Replay (see `replay_pools`; SLOW steps widened up to replay_pad_ahead past `digits`, see
    `widened_steps`) and the copy task, as a round, the bridge (`focus` 0) and the anneal
    (`focus` 0) train them."""
    widen = (widened_steps(task, digits + mix.replay_pad_ahead, mix.replay_pad_mixed)
             if mix.replay_pad_ahead else None)
    return [*copy_pools(mix, task, digits), *replay_pools(replay, REPLAY_WEIGHT, agree, focus, widen)]
