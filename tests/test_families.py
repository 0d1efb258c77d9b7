"""Problem families: each draws the shape it claims, a mixture draws each family in its
share, and the suites they make set the strict frontier."""
from collections import Counter

import numpy as np
import pytest

from sector.evaluate import frontier_of, strict_frontier, worst_suite
from sector.tasks import get_task
from sector.tasks.families import FAMILIES, HEAVY

ADDITION, ADD = get_task("addition")
SUBTRACTION, SUB = get_task("subtraction")


def longest_carry(problem) -> int:
    """The most columns in a row that a carry passes through (computed here, for the test)."""
    carry, run, longest = problem.carry, 0, 0
    for x, y in zip(problem.a[::-1], problem.b[::-1]):
        carry = int(int(x) + int(y) + carry >= 10)
        run = run + 1 if carry else 0
        longest = max(longest, run)
    return longest


@pytest.mark.parametrize("task", [ADDITION, SUBTRACTION])
@pytest.mark.parametrize("digits", [1, 2, 7, 30])
def test_every_family_draws_valid_problems_of_its_length(task, digits):
    rng = np.random.default_rng(digits)
    for family in task.families:
        problems = task.sample(rng, digits, 200, family)
        assert all(p.digits == digits and len(p.b) == digits and p.family == family for p in problems)
        assert all(p.a.isdigit() and p.b.isdigit() and p.carry in (0, 1) for p in problems)
        if family != "mixed":  # a mixed problem's shorter operand is zero-padded
            assert all(p.a[0] != "0" and p.b[0] != "0" for p in problems)
        if task is SUBTRACTION:
            assert all(SUB.answer(p) >= 0 for p in problems)


def test_carry_chains_carry_through_long_stretches_and_half_through_every_column():
    problems = ADDITION.sample(np.random.default_rng(0), 24, 2000, "carry_chain")
    full = [p for p in problems if ADD.answer(p) >= 10**24 and ADD.answer(p) - 10**24 <= 9 or ADD.answer(p) == 10**24]
    assert 0.4 < len(full) / len(problems) < 0.6
    uniform = ADDITION.sample(np.random.default_rng(0), 24, 2000)
    assert np.mean([longest_carry(p) for p in problems]) > 4 * np.mean([longest_carry(p) for p in uniform])
    # a carry-in travelling a whole run of 9-sums: a + b + 1 = 10^n
    assert any(p.carry and int(p.a) + int(p.b) + 1 == 10**24 for p in problems)


def test_heavy_operands_are_mostly_their_digit():
    zeros = ADDITION.sample(np.random.default_rng(1), 40, 500, "zero_heavy")
    share = np.mean([c == "0" for p in zeros for c in (p.a[1:] + p.b[1:])])
    assert HEAVY - 0.03 < share < HEAVY + 0.03
    nines = ADDITION.sample(np.random.default_rng(1), 40, 500, "nine_heavy")
    assert all(max(p.a.count("9"), p.b.count("9")) > 20 for p in nines)


def test_repeated_operands_are_runs_of_equal_digits():
    problems = ADDITION.sample(np.random.default_rng(2), 40, 300, "repeated")
    changes = np.mean([sum(x != y for x, y in zip(p.a, p.a[1:])) for p in problems])
    assert changes < 0.3 * 39  # a uniform operand changes digit at 0.9 of its places


def test_borrow_chains_borrow_through_long_stretches():
    def longest_borrow(p):
        borrow, run, longest = p.carry, 0, 0
        for x, y in zip(p.a[::-1], p.b[::-1]):
            borrow = int(int(x) - int(y) - borrow < 0)
            run = run + 1 if borrow else 0
            longest = max(longest, run)
        return longest
    chains = SUBTRACTION.sample(np.random.default_rng(3), 20, 500, "borrow_chain")
    uniform = SUBTRACTION.sample(np.random.default_rng(3), 20, 500)
    assert np.mean([longest_borrow(p) for p in chains]) > 3 * np.mean([longest_borrow(p) for p in uniform])


def test_a_mixture_draws_each_family_in_its_share():
    weights = {"uniform": 0.4, "mixed": 0.2, "carry_chain": 0.2, "zero_heavy": 0.1, "repeated": 0.1}
    counts = Counter(p.family for p in ADDITION.sample(np.random.default_rng(4), 9, 20000, weights))
    for family, weight in weights.items():
        assert counts[family] / 20000 == pytest.approx(weight, abs=0.015)


def test_a_family_the_task_does_not_have_is_refused():
    with pytest.raises(ValueError, match="borrow_chain"):
        ADDITION.sample(np.random.default_rng(0), 5, 10, "borrow_chain")
    assert set(ADDITION.families) | set(SUBTRACTION.families) <= set(FAMILIES)


def test_the_family_is_no_part_of_the_problem():
    a = ADDITION.sample(np.random.default_rng(5), 6, 50, "zero_heavy")
    b = [ADDITION.problem(p.a, p.b, p.carry) for p in a]
    assert a == b and {p.family for p in b} == {"uniform"}


def rows(suite: str, accuracy: dict[int, float], n: int = 1000) -> list[dict]:
    return [{"mode": "fast", "suite": suite, "digits": d, "n": n, "correct": round(a * n), "accuracy": a}
            for d, a in accuracy.items()]


def test_the_strict_frontier_asks_every_suite_and_the_pooled_structured_ones():
    uniform = rows("uniform", {1: 1.0, 2: 0.99, 3: 0.99, 4: 0.99})
    chains = rows("carry_chain", {1: 1.0, 2: 0.99, 3: 0.97, 4: 1.0}, 200)
    zeros = rows("zero_heavy", {1: 1.0, 2: 0.99, 3: 1.0, 4: 0.94}, 200)
    assert frontier_of(uniform + chains + zeros) == 4
    assert strict_frontier(uniform + chains + zeros) == 3  # 4: zero_heavy under the 95% floor
    assert strict_frontier(uniform + rows("carry_chain", {1: 1.0, 2: 0.97}, 200)) == 1  # pooled under 98%
    assert strict_frontier(uniform) is None  # no structured suite: nothing measured
    assert worst_suite(uniform + chains + zeros, 4)["suite"] == "zero_heavy"


def test_the_evaluator_scores_every_suite_on_problems_of_its_own_stream(monkeypatch):
    from sector import decoding
    from sector.evaluate import Evaluator

    # A model that is always right by FAST and never by the SLOW chain, whose problems are kept.
    seen = []
    monkeypatch.setitem(decoding.MODES, "fast", lambda model, task, ps, **kw: seen.extend(ps) or
                        [ADD.answer(p) for p in ps])
    monkeypatch.setitem(decoding.MODES, "slow", lambda model, task, ps, **kw: [None] * len(ps))
    asked = []

    def stream(suite):
        asked.append(suite)
        return np.random.default_rng(len(asked))

    rows = Evaluator(ADDITION, ADD, {}).suites(None, stream, range(1, 4), 6, slow_lengths=range(3, 4), family_count=4)
    assert asked == list(ADDITION.families)
    assert Counter(p.family for p in seen) == {"uniform": 18, **{f: 12 for f in ADDITION.families[1:]}}
    fast = {(r["suite"], r["digits"]): (r["correct"], r["n"]) for r in rows if r["mode"] == "fast"}
    assert fast == {(s, d): (n, n) for s in ADDITION.families for d in (1, 2, 3) for n in [6 if s == "uniform" else 4]}
    slow = [(r["suite"], r["digits"], r["correct"], r["n"]) for r in rows if r["mode"] == "slow"]
    assert slow == [("uniform", 3, 0, 6)]
    uniform_only = Evaluator(ADDITION, ADD, {}).suites(None, stream, range(1, 2), 5, family_count=0)
    assert [(r["suite"], r["mode"]) for r in uniform_only] == [("uniform", "fast")]


def test_each_suite_of_a_unit_draws_from_its_own_named_stream():
    from types import SimpleNamespace

    from sector.config import preset
    from sector.experiment import Experiment, rng_for

    def suites(model, stream, lengths, count, slow_lengths, family_count):
        draws = {s: stream(s).integers(1 << 30) for s in ADDITION.families}
        return [{"suite": s, "draw": int(d)} for s, d in draws.items()]

    exp = Experiment(cfg=preset("test"), world=None, task=ADDITION, rundir=None, trainer=SimpleNamespace(model=None),
                     state=None, evaluator=SimpleNamespace(suites=suites), started=0.0, log=print, tb=None,
                     provenance={})
    rows = exp.evaluate("self", 4, range(1, 3), 5, family_count=2)
    seed = preset("test").seed
    expected = {s: int(rng_for(seed, "eval-self" if s == "uniform" else f"eval-self-{s}", 4).integers(1 << 30))
                for s in ADDITION.families}
    assert {r["suite"]: r["draw"] for r in rows} == expected
    assert all(r["phase"] == "self" and r["round"] == 4 for r in rows)


def test_family_totals_sum_each_family_over_the_rounds_that_trained_on_it():
    from sector.report import family_totals

    progress = [{"unit": "phase1"},
                {"unit": "round", "by_family": {"uniform": {"labels": 10, "accepted": 9, "accepted_wrong": 1},
                                                "carry_chain": {"labels": 4, "accepted": 2, "accepted_wrong": 0}}},
                {"unit": "round", "by_family": {"uniform": {"labels": 20, "accepted": 15, "accepted_wrong": 2}}},
                {"unit": "round", "stopped": True,  # trained on nothing: its labels count nowhere
                 "by_family": {"uniform": {"labels": 50, "accepted": 30, "accepted_wrong": 5}}}]
    assert family_totals(progress) == {"uniform": {"labels": 30, "accepted": 24, "accepted_wrong": 3},
                                       "carry_chain": {"labels": 4, "accepted": 2, "accepted_wrong": 0}}
    assert family_totals(progress[:1]) == {}
