"""Self-labelling: labellers turn problems into answers with the model alone, filters
decide which labels to trust. Both are swappable parts: the loop takes one labeller and
a list of filters, and never looks inside them. None of them can see an answer function.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sector.decoding import group_by_digits, majority, reduce_and_guess
from sector.tasks import Problem, Task


@dataclass
class Label:
    """One self-labelled problem. `candidates` are the S&G guesses after 1..K steps
    (None = malformed, caught by the structural checks); `fast` is FAST alone."""

    problem: Problem
    label: int | None
    candidates: list[int | None]
    fast: int | None
    votes: int
    first_step: tuple[int, Problem] | None
    reason: str | None = None  # why the label was rejected; None = accepted
    twin: "Label | None" = field(default=None, repr=False)  # the label of the problem's twin

    @property
    def accepted(self) -> bool:
        return self.reason is None


class Labeller(Protocol):
    name: str

    def __call__(self, model, task: Task, problems: list[Problem]) -> list[Label]: ...


class Filter(Protocol):
    name: str

    def __call__(self, model, task: Task, labeller: Labeller, labels: list[Label]) -> list[str | None]:
        """A rejection reason per label (None keeps it)."""
        ...


@dataclass
class SimplifyThenGuess:
    """k = 1..K SLOW steps, each followed by a FAST guess; the label is the majority.
    A label needs more than half of the K candidates behind it (`min_share`)."""

    k: int = 5
    min_share: float = 0.5
    name: str = "sng"

    def __call__(self, model, task: Task, problems: list[Problem], **kw) -> list[Label]:
        labels: list[Label | None] = [None] * len(problems)
        for digits, idx in group_by_digits(problems).items():
            depth = max(1, min(self.k, digits - 1))
            trace = reduce_and_guess(model, task, [problems[i] for i in idx], depth, **kw)
            for j, i in enumerate(idx):
                cands = [trace.candidates[k][j] for k in range(1, depth + 1)]
                label, votes = majority(cands)
                if label is None:
                    reason = "structure"
                elif votes <= self.min_share * depth:
                    reason = "no_majority"
                else:
                    reason = None
                labels[i] = Label(problems[i], label, cands, trace.candidates[0][j], votes,
                                  trace.steps[0][j], reason)
        return labels


@dataclass
class FastOnly:
    """The ablation without chain of thought: FAST's own answer is the label."""

    name: str = "fast"

    def __call__(self, model, task: Task, problems: list[Problem], **kw) -> list[Label]:
        trace = reduce_and_guess(model, task, problems, depth=0, **kw)
        return [Label(p, c, [c], c, int(c is not None), None, None if c is not None else "structure")
                for p, c in zip(problems, trace.candidates[0])]


@dataclass
class Commutativity:
    """Label each problem's twin (b+a for addition: the paper's commutativity check; the task
    says what the twin is) with the same labeller and keep a label only when both agree."""

    name: str = "commutativity"

    def __call__(self, model, task: Task, labeller: Labeller, labels: list[Label]) -> list[str | None]:
        open_idx = [i for i, lab in enumerate(labels) if lab.accepted]
        twins = labeller(model, task, [task.twin(labels[i].problem) for i in open_idx])
        reasons: list[str | None] = [None] * len(labels)
        for i, twin in zip(open_idx, twins):
            labels[i].twin = twin
            if not twin.accepted or twin.label != labels[i].label:
                reasons[i] = self.name
        return reasons


def apply_filters(model, task: Task, labeller: Labeller, filters: list[Filter],
                  labels: list[Label]) -> dict[str, int]:
    """Run each filter on the labels still accepted; returns how often each one fired."""
    fired = {"structure": sum(lab.reason == "structure" for lab in labels),
             "no_majority": sum(lab.reason == "no_majority" for lab in labels)}
    for flt in filters:
        reasons = flt(model, task, labeller, labels)
        fired[flt.name] = 0
        for lab, reason in zip(labels, reasons):
            if lab.accepted and reason is not None:
                lab.reason = reason
                fired[flt.name] += 1
    return fired


def training_examples(task: Task, labels: list[Label]) -> list[tuple[str, str]]:
    """FAST examples of the accepted labels (and of their twins), and the SLOW
    steps that began a chain whose one-step candidate agrees with the label."""
    out: list[tuple[str, str]] = []
    for lab in labels:
        if not lab.accepted:
            continue
        for item in (lab, lab.twin):
            if item is None or item.label != lab.label:
                continue
            out.append((task.fast_prompt(item.problem), task.fast_target(lab.label, item.problem)))
            if item.first_step is not None and item.candidates[0] == lab.label:
                digit, rest = item.first_step
                out.append((task.slow_prompt(item.problem), task.slow_target(digit, rest)))
    return out
