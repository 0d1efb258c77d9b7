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

from sector.config import Config
from sector.tasks import Task, slow_example
from sector.tasks.copying import copy_examples, problem_copies
from sector.training import Example, Pool


def copy_pools(cfg: Config, task: Task, digits: int = 0) -> list[Pool]:
    """The copy task. In phase 1, strings of the task's symbols up to copy_max_len. In a round
    at `digits`, strings long enough for the copy inside a SLOW step a few lengths ahead
    (copying holds only to the trained length), no shorter than copy_min_share of that and
    with doubled characters (copy_repeat): past the frontier a step loses count in runs of
    equal digits, in long copies (docs/RESULTS.md). A share copy_problems of a round's copying
    is of sampled problems with one operand zero-padded, about as long, whose zeros a step
    miscopies even within its trained lengths. Shorter lengths are in the replayed data."""
    if not digits:
        return [Pool("copy", cfg.copy_weight,
                     lambda rng, n: copy_examples(rng, n, cfg.copy_max_len, task.symbols, cfg.copy_runs))]
    max_len = max(cfg.copy_max_len, 2 * (digits + cfg.copy_ahead) + 2)
    min_len = max(1, round(cfg.copy_min_share * max_len))
    longest = digits + cfg.copy_ahead
    shortest = max(1, round(cfg.copy_min_share * longest))
    return [Pool("copy", cfg.copy_weight * (1 - cfg.copy_problems),
                 lambda rng, n: copy_examples(rng, n, max_len, task.symbols, cfg.copy_runs, cfg.copy_repeat, min_len)),
            Pool("copy-problems", cfg.copy_weight * cfg.copy_problems,
                 lambda rng, n: problem_copies(rng, n, task, shortest, longest))]


def phase1_mixture(cfg: Config, task: Task, pools: dict[int, list[Example]], lengths: range) -> list[Pool]:
    """A phase-1 stage's training mix: `lengths` in equal shares, and the copy task."""
    return [*(Pool(f"len{d}", (1 - cfg.copy_weight) / len(lengths), pools[d]) for d in lengths),
            *copy_pools(cfg, task)]


def replay_pools(replay: dict[int, list[Example]], weight: float, agree: dict[int, float],
                 focus: float, transform: Callable | None = None) -> list[Pool]:
    """Earlier data by length, sharing `weight`: each length in proportion to
    1 + focus x (1 - agreement of FAST with its held-out self-labels). Training a new length
    unsettles the ones just before it; this replays those most, with no ground truth. Every
    draw goes through `transform` (see `widened_steps`) where there is one."""
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
    it was trained on (docs/RESULTS.md, session 11), and a mixed-length problem's step by
    miscounting its run of zeros (session 21); this trains the copy at the widths ahead."""
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
            high = task.sample(rng, w - problem.digits, 1, mixed=1.0)[0] if sampled and w > problem.digits else None
            out[-1] = slow_example(task, task.pad(problem, w, high), step[0], task.pad(step[1], w - 1, high))
        return out
    return widen


def replay_mixture(cfg: Config, task: Task, replay: dict[int, list[Example]], agree: dict[int, float],
                   focus: float, digits: int) -> list[Pool]:
    """Replay (see `replay_pools`; SLOW steps widened up to replay_pad_ahead past `digits`, see
    `widened_steps`) and the copy task, as a round and the anneal train them."""
    widen = widened_steps(task, digits + cfg.replay_pad_ahead, cfg.replay_pad_mixed) if cfg.replay_pad_ahead else None
    return [*copy_pools(cfg, task, digits), *replay_pools(replay, cfg.replay_weight, agree, focus, widen)]
