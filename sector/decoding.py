"""Decoding: batched greedy generation, SLOW chains, and Simplify-then-Guess.

`greedy` is the hot path. It sorts prompts by length so that a batch carries little
padding and hands each batch to `cached_decoder.greedy_tokens`, which encodes it once and
extends its sequences one token per step from a preallocated KV cache, dropping rows as
they emit eos. A SLOW step is drafted as a copy of its prompt's tail (`Task.slow_draft`),
which the decoder checks in one pass instead of a step per copied character.

`reduce_and_guess` is the chain of thought. Level 0 asks FAST for the whole problem;
level k applies k SLOW steps and asks FAST for what remains, so each level yields one
full candidate answer. A level's FAST guesses go through one `greedy` call, then the SLOW
steps of the problems still open (a labeller may close a problem once its vote is settled).
A guess is drafted from the one a level up: where the chain is sound, one step leaves a
problem whose answer FAST wrote already, less the digit the step emitted.
"""
from __future__ import annotations

import copy
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import torch

from sector.cached_decoder import greedy_tokens
from sector.model import ByteCodec, Model
from sector.progress import bar
from sector.tasks import Problem, Task

CODEC = ByteCodec()
_BF16_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def in_bf16(model: Model) -> Model:
    """A bfloat16 copy of `model` to decode with, made once per state of its weights (an
    optimizer step or a load writes them in place, which bumps each tensor's version).

    A copy rather than autocast: autocast multiplies in bf16 but leaves the elementwise work
    (layer norms, GELU, the residual stream) in float32, and on a CPU with AMX that work is
    most of a small model's pass (labelling at 20 digits: autocast 1.03-1.17x over float32,
    a bf16 copy 1.57x; docs/DESIGN.md). Attention scores stay
    float32 (cached_decoder._attend)."""
    params = list(model.parameters())
    state = tuple((p.data_ptr(), p._version) for p in params)
    cached = _BF16_COPIES.get(model)
    if cached is None or cached[0] != state:
        twin = copy.deepcopy(model).to(torch.bfloat16).requires_grad_(False)
        _BF16_COPIES[model] = cached = (state, twin)
    return cached[1]


@torch.no_grad()
def greedy(model: Model, prompts: list[str], max_new_tokens: int, batch_size: int = 512,
           bf16: bool = False, drafts: list[str] | None = None) -> list[str]:
    """Greedy continuation of every prompt, in the order given; with `bf16`, by the model's
    weights in bfloat16 (`in_bf16`). `drafts` guess how each continuation goes on after its
    first character; they save steps where they are right and change no output
    (cached_decoder.greedy_tokens)."""
    if not prompts:
        return []
    model.eval()
    if bf16:
        model = in_bf16(model).eval()
    device = next(model.parameters()).device
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[str] = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        ids, mask = CODEC.encode([prompts[i] for i in chunk])
        draft = CODEC.encode([drafts[i] for i in chunk], eos=False)[0] if drafts is not None else None
        ids, mask = ids.to(device), mask.to(device)
        tokens = greedy_tokens(model, ids, mask, max_new_tokens, draft)
        for i, text in zip(chunk, CODEC.decode(tokens)):
            out[i] = text
    return out


def _complete(model: Model, prompts: list[str], expected: list[str] | None = None, **kw) -> list[str]:
    """`greedy` with room for any answer: a SLOW answer is at most one byte longer than
    its prompt, a FAST one is shorter. `expected` guesses each whole output; greedy drafts
    from what follows its first character."""
    if expected is not None:
        kw["drafts"] = [text[1:] for text in expected]
    return greedy(model, prompts, max(map(len, prompts)) + 3, **kw) if prompts else []


def _steps(model: Model, task: Task, problems: list[Problem], **kw) -> list[str]:
    """What the model writes for one SLOW step on each problem, drafted as a copy of the
    prompt's tail (the part of a step that the copy task trains)."""
    return _complete(model, [task.slow_prompt(p) for p in problems],
                     drafts=[task.slow_draft(p) for p in problems], **kw)


def agreement(model: Model, examples: dict[int, list[tuple[str, str]]], **kw) -> dict[int, tuple[int, int]]:
    """Per key, (prompts whose greedy output is exactly the target, prompts): say, how well
    FAST reproduces self-labels it was not trained on. Counts, so that shards add up.
    One `greedy` call for all keys; each target drafts its output, which greedy checks."""
    keys = [k for k, exs in examples.items() for _ in exs]
    pairs = [ex for exs in examples.values() for ex in exs]
    texts = _complete(model, [prompt for prompt, _ in pairs], expected=[target for _, target in pairs], **kw)
    hits = dict.fromkeys(examples, 0)
    for key, (_, target), text in zip(keys, pairs, texts):
        hits[key] += text == target
    return {k: (hits[k], len(exs)) for k, exs in examples.items()}


def fast(model: Model, task: Task, problems: list[Problem], expected: list[str] | None = None,
         **kw) -> list[int | None]:
    """FAST answers; None where the output is malformed. `expected` guesses each output's
    text, for the decoder to draft from (it changes no answer)."""
    prompts = [task.fast_prompt(p) for p in problems]
    texts = _complete(model, prompts, expected=expected, **kw)
    return [task.parse_fast(t, p) for t, p in zip(texts, problems)]


def slow_steps(model: Model, task: Task, problems: list[Problem], **kw) -> list[tuple[int, Problem] | None]:
    """One SLOW step on each problem: (emitted digit, remaining problem), or None."""
    return [task.parse_slow(t, p) for t, p in zip(_steps(model, task, problems, **kw), problems)]


@dataclass
class Trace:
    """Everything the chain of thought produced for a batch of problems.

    candidates[k][i]: the full answer to problem i after k SLOW steps and a FAST guess
        (k = 0 is FAST alone); None where a step or the guess was malformed, or where the
        problem was too short for k steps or its vote was settled before level k.
    steps[k][i]: the (digit, remaining problem) that SLOW step k+1 produced.
    guess_texts[k][i], step_texts[k][i]: what the model wrote for the guess and the step,
        parsed or not.
    """

    candidates: list[list[int | None]]
    steps: list[list[tuple[int, Problem] | None]]
    guess_texts: list[list[str | None]]
    step_texts: list[list[str | None]]


def reduce_and_guess(model: Model, task: Task, problems: list[Problem], depth: int, no_guess: range = range(0),
                     settled: Callable[[list[int | None]], bool] | None = None,
                     expected: list[str | None] | None = None, **kw) -> Trace:
    """Candidates for levels 0..depth (None at the levels in `no_guess`, which are only
    reduced); a problem is reduced at most to one digit, and no further once `settled`
    says its candidates so far (levels 0..k) decide its answer: its later candidates are None.

    A FAST guess is drafted from the chain's guess one level up, carried through the step
    (`Task.fast_text_after_step`), or from `expected`, a guess of each problem's FAST text
    (a twin's: its problem's label). Drafts save decoding steps and change no output."""
    n = len(problems)
    current: list[Problem | None] = list(problems)
    expect: list[str | None] = list(expected) if expected is not None else [None] * n
    emitted: list[list[int]] = [[] for _ in range(n)]
    candidates: list[list[int | None]] = []
    steps: list[list[tuple[int, Problem] | None]] = []
    guess_texts: list[list[str | None]] = []
    step_texts: list[list[str | None]] = []
    progress = bar(depth + 1, f"chain of thought, {n} problems")
    for level in range(depth + 1):
        progress.update(1)
        alive = [i for i in range(n) if current[i] is not None]
        guess_idx = [] if level in no_guess else alive
        texts = _complete(model, [task.fast_prompt(current[i]) for i in guess_idx],
                          expected=[expect[i] or "" for i in guess_idx], **kw)
        row: list[int | None] = [None] * n
        guess_row: list[str | None] = [None] * n
        for i, text in zip(guess_idx, texts):
            guess_row[i] = expect[i] = text
            rest = task.parse_fast(text, current[i])
            row[i] = None if rest is None else task.combine(emitted[i], rest)
        candidates.append(row)
        guess_texts.append(guess_row)
        if level == depth:
            break
        if settled is not None and guess_idx:
            alive = [i for i in alive if not settled([c[i] for c in candidates])]
        step_idx = [i for i in alive if task.can_reduce(current[i])]
        texts = _steps(model, task, [current[i] for i in step_idx], **kw)
        step_row: list[tuple[int, Problem] | None] = [None] * n
        text_row: list[str | None] = [None] * n
        nxt: list[Problem | None] = [None] * n
        for i, text in zip(step_idx, texts):
            text_row[i] = text
            step = task.parse_slow(text, current[i])
            step_row[i] = step
            if step is not None:
                emitted[i].append(step[0])
                nxt[i] = step[1]
                expect[i] = None if expect[i] is None else task.fast_text_after_step(expect[i])
        steps.append(step_row)
        step_texts.append(text_row)
        current = nxt
    progress.close()
    return Trace(candidates, steps, guess_texts, step_texts)


def slow_chain(model: Model, task: Task, problems: list[Problem], **kw) -> list[int | None]:
    """The pure System-2 answer: SLOW steps down to one digit, then FAST. Problems of every
    length step together, so each step is one `greedy` call over all that are still open;
    a malformed step closes its problem (None)."""
    current: list[Problem | None] = list(problems)
    emitted: list[list[int]] = [[] for _ in problems]
    depth = max((p.digits for p in problems), default=1) - 1
    progress = bar(depth, f"SLOW chains, {len(problems)} problems")
    for _ in range(depth):
        progress.update(1)
        open_ = [i for i, p in enumerate(current) if p is not None and task.can_reduce(p)]
        if not open_:
            break
        for i, step in zip(open_, slow_steps(model, task, [current[i] for i in open_], **kw)):
            current[i] = None if step is None else step[1]
            if step is not None:
                emitted[i].append(step[0])
    progress.close()
    out: list[int | None] = [None] * len(problems)
    done = [i for i, p in enumerate(current) if p is not None]
    for i, rest in zip(done, fast(model, task, [current[i] for i in done], **kw)):
        out[i] = None if rest is None else task.combine(emitted[i], rest)
    return out


# The two ways to answer a problem: FAST at once, or the full chain of SLOW steps.
MODES = {"fast": fast, "slow": slow_chain}


def majority(votes: list[int | None]) -> tuple[int | None, int]:
    """The most common valid candidate and how many candidates named it."""
    counts = Counter(v for v in votes if v is not None)
    if not counts:
        return None, 0
    return counts.most_common(1)[0]
