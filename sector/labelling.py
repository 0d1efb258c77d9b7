"""Self-labelling: labellers turn problems into answers with the model alone, filters
decide which labels to trust. Both are swappable parts: the loop takes one labeller and
a list of filters, and never looks inside them. None of them can see an answer function.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from sector.decoding import fast, majority, reduce_and_guess
from sector.model import Model
from sector.tasks import Problem, Task, fast_example, group_by_digits, slow_example

if TYPE_CHECKING:
    from sector.config import RoundsConfig


@dataclass
class Label:
    """One self-labelled problem. `candidates` are the labeller's guesses, from the least
    reduced problem to the most (S&G: after 1..K steps; None = malformed, caught by the
    structural checks), up to the one that settled the vote; `fast` is FAST alone;
    `first_step` is the first SLOW step where the label came through it (it is trained
    on), else None."""

    problem: Problem
    label: int | None
    candidates: list[int | None]
    fast: int | None
    votes: int
    first_step: tuple[int, Problem] | None = None
    reason: str | None = None  # why the label was rejected; None = accepted
    twin: "Label | None" = field(default=None, repr=False)  # the label of the problem's twin

    @property
    def accepted(self) -> bool:
        return self.reason is None


class Labeller(Protocol):
    """Turns problems into labels with the model alone, never an answer function (an entry of LABELLERS)."""

    name: str

    def __call__(self, model: Model, task: Task, problems: list[Problem], with_fast: bool = True,
                 expected: list[str | None] | None = None) -> list[Label]:
        """Labels of `problems`; `with_fast=False` may skip FAST alone (Label.fast, reported
        only) where it is not part of the vote. `expected` guesses each problem's FAST text,
        for the decoder to draft from: it saves time and changes no label."""
        ...


class Filter(Protocol):
    """Decides which labels to trust, by asking the model more questions (an entry of FILTERS); `name` is
    the rejection reason it gives."""

    name: str

    def __call__(self, model: Model, task: Task, labeller: Labeller, labels: list[Label]) -> list[str | None]:
        """A rejection reason per label (None keeps it)."""
        ...


@dataclass(kw_only=True)
class LevelVote:
    """A labeller that reduces each problem step by step and votes over FAST guesses made
    at some of the levels (level k = after k SLOW steps). Subclasses choose the levels.

    Where every voting level is past the first SLOW step, every candidate came through that
    step, so a label that stands vouches for the step as much as for itself: the step is
    trained on. (Trained only where one step + FAST gave the label, the step at n+2 would
    go untrained whenever FAST at n+1 was: with two lengths a round, every other length.)

    Once the candidates so far decide an accepted label (`settled`), the problem is reduced
    and guessed no further: the same labels for less decoding (docs/DESIGN.md)."""

    min_share: float = 0.5  # a label needs more than this share of the levels' votes
    stop_when_settled: bool = True  # ask no more candidates once the later ones cannot change the label
    decode_kw: dict = field(default_factory=dict)  # `greedy`'s batch_size and bf16

    def levels(self, digits: int) -> range:
        """The levels (SLOW steps taken before the FAST guess) that vote on a problem of `digits` digits."""
        raise NotImplementedError

    def settled(self, cands: list[int | None], total: int) -> bool:
        """Whether the first candidates decide an accepted label whatever the other
        `total - len(cands)` say: the leader has more than min_share of all `total` votes
        and more than the runner-up could reach."""
        top = Counter(c for c in cands if c is not None).most_common(2)
        lead, second = (top[0][1] if top else 0), (top[1][1] if len(top) > 1 else 0)
        return lead > self.min_share * total and lead > second + total - len(cands)

    def __call__(self, model: Model, task: Task, problems: list[Problem], with_fast: bool = True,
                 expected: list[str | None] | None = None) -> list[Label]:
        labels: list[Label | None] = [None] * len(problems)
        for digits, idx in group_by_digits(problems).items():
            levels = self.levels(digits)

            def settled(by_level: list[int | None]) -> bool:
                return self.settled([by_level[k] for k in levels if k < len(by_level)], len(levels))

            trace = reduce_and_guess(model, task, [problems[i] for i in idx], levels.stop - 1,
                                     no_guess=range(int(with_fast), levels.start),  # level 0: FAST alone
                                     settled=settled if self.stop_when_settled else None,
                                     expected=None if expected is None else [expected[i] for i in idx],
                                     **self.decode_kw)
            for j, i in enumerate(idx):
                cands: list[int | None] = []
                for level in levels:
                    cands.append(trace.candidates[level][j])
                    if self.stop_when_settled and self.settled(cands, len(levels)):
                        break
                labels[i] = _vote(problems[i], cands, self.min_share * len(levels), trace.candidates[0][j])
                if labels[i].label is not None and levels.start >= 1:
                    labels[i].first_step = trace.steps[0][j]
        return labels


@dataclass
class SimplifyThenGuess(LevelVote):
    """k = 1..K SLOW steps, each followed by a FAST guess; the label is the majority.
    A label needs more than half of the K candidates behind it (`min_share`)."""

    k: int = 5
    name: str = "sng"

    def levels(self, digits: int) -> range:
        return range(1, max(1, min(self.k, digits - 1)) + 1)


# FAST guesses where 1..CHAIN_K digits remain: subtraction's FAST holds to about 3 digits.
CHAIN_K = 3


@dataclass
class ChainVote(LevelVote):
    """The SLOW chain run until 1..k digits remain, FAST guessing at each of those k levels;
    the label is the majority, which needs more than half of the k guesses behind it.

    For a skill whose FAST lags far behind its SLOW step (subtraction's FAST stalled at 3
    digits while its SLOW chain reached 6): every guess falls to a length FAST has learned.
    It costs n - 1 steps a problem where S&G takes K."""

    k: int = CHAIN_K
    name: str = "chain"

    def levels(self, digits: int) -> range:
        depth = digits - 1
        return range(min(max(1, digits - self.k), depth), depth + 1)  # a 1-digit problem: FAST alone


def _vote(problem: Problem, cands: list[int | None], min_votes: float, fast: int | None) -> Label:
    """The label the candidates elect: rejected without a valid candidate ("structure") or
    with no more than `min_votes` of them behind it ("no_majority")."""
    label, votes = majority(cands)
    reason = "structure" if label is None else "no_majority" if votes <= min_votes else None
    return Label(problem, label, cands, fast, votes, reason=reason)


@dataclass
class FastOnly:
    """The ablation without chain of thought: FAST's own answer is the label."""

    decode_kw: dict = field(default_factory=dict)
    name: str = "fast"

    def __call__(self, model: Model, task: Task, problems: list[Problem], with_fast: bool = True,
                 expected: list[str | None] | None = None) -> list[Label]:
        trace = reduce_and_guess(model, task, problems, depth=0, expected=expected, **self.decode_kw)
        return [Label(p, c, [c], c, int(c is not None), reason=None if c is not None else "structure")
                for p, c in zip(problems, trace.candidates[0])]


@dataclass
class Commutativity:
    """Label each problem's twin (b+a for addition: the paper's commutativity check; the task
    says what the twin is) with the same labeller and keep a label only when both agree."""

    name: str = "commutativity"

    def __call__(self, model: Model, task: Task, labeller: Labeller, labels: list[Label]) -> list[str | None]:
        open_idx = [i for i, lab in enumerate(labels) if lab.accepted]
        problems = [task.twin(labels[i].problem) for i in open_idx]
        # A twin has its problem's answer: the label is the decoder's draft of the twin's FAST text.
        twins = labeller(model, task, problems, with_fast=False,
                         expected=[task.fast_target(labels[i].label, p) for i, p in zip(open_idx, problems)])
        reasons: list[str | None] = [None] * len(labels)
        for i, twin in zip(open_idx, twins):
            labels[i].twin = twin
            if not twin.accepted or twin.label != labels[i].label:
                reasons[i] = self.name
        return reasons


@dataclass
class SplitCheck:
    """Keep a label only when FAST, asked for the problem's columns in parts (each part's
    carry-out written into the next part up as its carry), composes the same answer.

    Every S&G candidate leaves the high columns to FAST at nearly the full length, and the
    twin b + a has the same column sums; so a carry FAST loses up there is unanimous among
    them all (most wrong labels that passed the twin check, docs/DESIGN.md). Here the high
    columns are a shorter problem, with the carry into them stated. `piece` 0 splits the
    problem into halves ("split"); `piece` N cuts it into parts of N columns from the low end
    up ("pieces"), so that no part is longer than N: a leading-column error that FAST makes
    at half the length too (a phantom carry through a column summing to 9) is then asked of
    a short problem. For tasks that can `split` a problem (addition); other labels pass."""

    decode_kw: dict = field(default_factory=dict)
    piece: int = 0
    name: str = "split"

    def cut(self, problem: Problem, answered: int) -> int:
        """How many low columns of `problem` to split off next (0: answer it whole), when
        `answered` columns of the original problem lie below it."""
        if self.piece:
            return self.piece if problem.digits > self.piece else 0
        return problem.digits // 2 if answered == 0 else 0

    def __call__(self, model: Model, task: Task, labeller: Labeller, labels: list[Label]) -> list[str | None]:
        reasons: list[str | None] = [None] * len(labels)
        split = getattr(task, "split", None)
        if split is None:
            return reasons
        # Only problems that are cut at least once: into halves of 2 digits or more (split), or
        # longer than one piece (pieces); a shorter problem would be asked of FAST unchanged.
        rest = {i: lab.problem for i, lab in enumerate(labels)
                if lab.accepted and lab.problem.digits >= max(4, self.piece + 1)}
        answered = dict.fromkeys(rest, 0)  # columns answered below each problem's rest
        below: dict[int, list] = {i: [] for i in rest}  # (join, answer) of each part under the rest
        while rest:
            cuts = {i: self.cut(p, answered[i]) for i, p in rest.items()}
            parts = {i: split(p, cuts[i]) if cuts[i] else (p, None, None) for i, p in rest.items()}
            # One FAST call a level for every problem's next part, drafted from the label's
            # digits there (a low part's carry-out left to the decoder).
            drafts = {i: labels[i].label // 10**answered[i] for i in parts}
            drafts = {i: d % 10**cuts[i] if cuts[i] else d for i, d in drafts.items()}
            answers = fast(model, task, [part for part, _, _ in parts.values()], **self.decode_kw,
                           expected=[task.fast_target(drafts[i], parts[i][0]) for i in parts])
            for (i, (_, high, join)), answer in zip(parts.items(), answers):
                if answer is not None and high is not None:
                    below[i].append((join, answer))
                    answered[i] += cuts[i]
                    rest[i] = high(answer)
                    continue
                del rest[i]
                for join_below, low_answer in reversed(below[i]):
                    answer = None if answer is None else join_below(low_answer, answer)
                if answer != labels[i].label:
                    reasons[i] = self.name
        return reasons


# The "pieces" check's part length: inside phase 1's supervised lengths (1..6 in the default
# preset), where FAST learned from ground truth on every problem family.
PIECE_DIGITS = 4

# The swappable parts by name, as a run's config names them (rounds.labeller,
# rounds.filters): a new labeller or filter is one entry here, from inside the package or
# out. A labeller is made from the rounds' settings (sector.config.RoundsConfig) and
# `greedy`'s keyword arguments; a filter from the latter.
LABELLERS: dict[str, Callable[[Any, dict], Labeller]] = {
    "sng": lambda rounds, decode_kw: SimplifyThenGuess(k=rounds.sng_k, decode_kw=decode_kw),
    "chain": lambda rounds, decode_kw: ChainVote(k=CHAIN_K, decode_kw=decode_kw),
    "fast": lambda rounds, decode_kw: FastOnly(decode_kw=decode_kw),
}
FILTERS: dict[str, Callable[[dict], Filter]] = {
    "commutativity": lambda decode_kw: Commutativity(),
    "split": lambda decode_kw: SplitCheck(decode_kw=decode_kw),
    "pieces": lambda decode_kw: SplitCheck(decode_kw=decode_kw, piece=PIECE_DIGITS, name="pieces"),
}


def labelling_from_config(rounds: "RoundsConfig", decode_kw: dict) -> tuple[Labeller, list[Filter]]:
    """The labeller and the filters (in their order) that `rounds` names, each decoding with `decode_kw`."""
    return LABELLERS[rounds.labeller](rounds, decode_kw), [FILTERS[name](decode_kw) for name in rounds.filters]


def apply_filters(model: Model, task: Task, labeller: Labeller, filters: list[Filter],
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


def label_and_filter(model: Model, task: Task, labeller: Labeller, filters: list[Filter],
                     problems: list[Problem]) -> tuple[list[Label], dict[str, int]]:
    """The labeller's labels of `problems`, each filter applied in turn; returns the labels
    (a rejected one carries its reason) and how often each check fired."""
    labels = labeller(model, task, problems)
    return labels, apply_filters(model, task, labeller, filters, labels)


def training_examples(task: Task, labels: list[Label]) -> list[tuple[str, str]]:
    """FAST examples of the accepted labels (and of their twins), and the first SLOW steps
    that the label came through."""
    out: list[tuple[str, str]] = []
    for lab in labels:
        if not lab.accepted:
            continue
        for item in (lab, lab.twin):
            if item is None or item.label != lab.label:
                continue
            out.append(fast_example(task, item.problem, lab.label))
            if item.first_step is not None:
                out.append(slow_example(task, item.problem, *item.first_step))
    return out
