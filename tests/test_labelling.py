"""Simplify-then-Guess, voting and the filters, driven by a scripted model: a stand-in for
`greedy` that answers from the oracle and makes chosen mistakes."""
import numpy as np
import pytest

import sector.decoding as decoding
from sector.labelling import (FILTERS, ChainVote, Commutativity, FastOnly, Label, SimplifyThenGuess, SplitCheck,
                              apply_filters, training_examples)
from sector.tasks import Problem, get_task

task, oracle = get_task("addition")


def scripted(fast_wrong=lambda p: False, slow_wrong=lambda p: False, slow_garbled=lambda p: False, writer=task):
    """A fake greedy decoder for prompts in `writer`'s format: right answers, except where
    the predicates say otherwise."""
    def greedy(model, prompts, max_new_tokens, **kw):
        out = []
        for prompt in prompts:
            p = problem_of(prompt, writer)
            if prompt[0] == "F":
                ans = oracle.answer(p) + (1 if fast_wrong(p) else 0)
                out.append(writer.fast_target(ans, p))
            elif slow_garbled(p):
                out.append("7|" + "9" * (p.digits + 3))
            else:
                digit, rest = oracle.slow_step(p)
                out.append(writer.slow_target((digit + 1) % 10 if slow_wrong(p) else digit, rest))
        return out
    return greedy


def problem_of(prompt, writer=task):
    """The problem behind a FAST or SLOW prompt (see sector/tasks/arithmetic.py)."""
    return writer.parse_body(prompt[1:]) if prompt[0] == "F" else writer.parse_slow_prompt(prompt)


@pytest.fixture
def problems():
    return task.sample(np.random.default_rng(0), 8, 20)


def test_sng_majority_outvotes_a_wrong_fast(monkeypatch, problems):
    # FAST is wrong on every problem of 8 digits only; guesses after reductions are right.
    monkeypatch.setattr(decoding, "greedy", scripted(fast_wrong=lambda p: p.digits == 8))
    labels = SimplifyThenGuess(k=5)(None, task, problems)
    for lab in labels:
        assert lab.fast != oracle.answer(lab.problem)
        assert lab.label == oracle.answer(lab.problem) and lab.accepted
        assert lab.votes == 3 and len(lab.candidates) == 3  # three of five settle it


def test_a_settled_vote_gives_the_labels_of_the_full_vote_for_fewer_decodes(monkeypatch):
    # Random mistakes everywhere, so that votes settle early, late or never.
    problems = task.sample(np.random.default_rng(1), 9, 300)
    rng = np.random.default_rng(2)
    errs = {}

    def flaky(kind, rate):
        return lambda p: errs.setdefault((kind, p), rng.random() < rate)

    model = scripted(fast_wrong=flaky("fast", 0.3), slow_wrong=flaky("slow", 0.05), slow_garbled=flaky("garbled", 0.05))
    tokens = []

    def counting(m, prompts, max_new_tokens, **kw):
        out = model(m, prompts, max_new_tokens, **kw)
        tokens.append(sum(map(len, out)))
        return out

    monkeypatch.setattr(decoding, "greedy", counting)
    runs = {}
    for settle in (False, True):
        tokens.clear()
        labeller = SimplifyThenGuess(k=5, stop_when_settled=settle)
        labels = labeller(None, task, problems)
        apply_filters(None, task, labeller, [Commutativity()], labels)
        runs[settle] = labels, sum(tokens)
    (full, full_tokens), (settled, settled_tokens) = runs[False], runs[True]
    assert [(a.label, a.reason, a.first_step, a.fast) for a in full] == \
        [(b.label, b.reason, b.first_step, b.fast) for b in settled]
    assert {lab.reason for lab in full} == {None, "structure", "no_majority", "commutativity"}
    assert all(b.candidates == a.candidates[: len(b.candidates)] for a, b in zip(full, settled))
    assert settled_tokens < 0.9 * full_tokens


def test_structural_check_discards_garbled_reductions(monkeypatch, problems):
    monkeypatch.setattr(decoding, "greedy", scripted(slow_garbled=lambda p: True))
    labels = SimplifyThenGuess(k=5)(None, task, problems)
    assert all(lab.label is None and lab.reason == "structure" for lab in labels)
    assert all(c is None for lab in labels for c in lab.candidates)


def test_no_majority_is_rejected(monkeypatch, problems):
    # Wrong FAST guesses at 5..7 digits: after 1, 2, 3 steps the guesses are off; only k=4, 5 right.
    monkeypatch.setattr(decoding, "greedy", scripted(fast_wrong=lambda p: 5 <= p.digits <= 7))
    labels = SimplifyThenGuess(k=5)(None, task, problems)
    assert all(lab.reason == "no_majority" for lab in labels)


def test_commutativity_rejects_labels_that_disagree_with_the_swap(monkeypatch, problems):
    # The first SLOW step errs whenever a > b, so exactly one of a+b, b+a gets wrong labels.
    monkeypatch.setattr(decoding, "greedy", scripted(slow_wrong=lambda p: p.digits == 8 and p.a > p.b))
    labeller = SimplifyThenGuess(k=5)
    labels = labeller(None, task, problems)
    fired = apply_filters(None, task, labeller, [Commutativity()], labels)
    assert fired["commutativity"] == sum(p.a != p.b for p in problems) > 0
    assert all(lab.label == oracle.answer(lab.problem) for lab in labels if lab.accepted)


def test_training_examples_hold_fast_labels_and_the_agreeing_first_steps(monkeypatch, problems):
    monkeypatch.setattr(decoding, "greedy", scripted())
    labeller = SimplifyThenGuess(k=3)
    labels = labeller(None, task, problems)
    apply_filters(None, task, labeller, [Commutativity()], labels)
    examples = training_examples(task, labels)
    assert len(examples) == 4 * len(problems)  # FAST and SLOW, for a+b and for b+a
    for prompt, target in examples:
        p = problem_of(prompt)
        if prompt[0] == "F":
            assert task.parse_fast(target, p) == oracle.answer(p)
        else:
            assert task.parse_slow(target, p) == oracle.slow_step(p)


def test_sng_trains_the_first_step_of_every_label_that_stands(monkeypatch, problems):
    # FAST is wrong on 7 digits: the one-step candidate of an 8-digit problem is outvoted,
    # but the candidates that elect the label came through the same first step, so it is
    # trained on (the n+2 case of a round that labels two lengths).
    monkeypatch.setattr(decoding, "greedy", scripted(fast_wrong=lambda p: p.digits == 7))
    labels = SimplifyThenGuess(k=3)(None, task, problems)
    assert all(lab.accepted and lab.label == oracle.answer(lab.problem) and lab.votes == 2 for lab in labels)
    steps = [(prompt, target) for prompt, target in training_examples(task, labels) if prompt[0] == "S"]
    assert len(steps) == len(problems)
    assert all(task.parse_slow(target, problem_of(prompt)) == oracle.slow_step(problem_of(prompt))
               for prompt, target in steps)


def test_a_rejected_label_trains_no_step(monkeypatch, problems):
    monkeypatch.setattr(decoding, "greedy", scripted(fast_wrong=lambda p: True))
    labels = SimplifyThenGuess(k=3)(None, task, problems)
    assert not any(lab.accepted for lab in labels)
    assert training_examples(task, labels) == []


def test_chain_vote_labels_where_fast_holds_only_on_short_problems(monkeypatch, problems):
    # FAST is right on 1..3 digits only (subtraction's case): S&G's guesses fall on 3..7
    # digits and find no majority; the chain's fall on 1..3 and agree.
    fast_lengths = []

    def counting(model, prompts, max_new_tokens, **kw):
        fast_lengths.extend(problem_of(p).digits for p in prompts if p[0] == "F")
        return scripted(fast_wrong=lambda p: p.digits > 3)(model, prompts, max_new_tokens, **kw)

    monkeypatch.setattr(decoding, "greedy", counting)
    assert all(lab.reason == "no_majority" for lab in SimplifyThenGuess(k=5)(None, task, problems))
    fast_lengths.clear()
    labels = ChainVote(k=3)(None, task, problems)
    assert all(lab.accepted and lab.label == oracle.answer(lab.problem) and lab.votes == 2 for lab in labels)
    assert set(fast_lengths) == {8, 3, 2}  # FAST alone, then where 3, 2 digits remain: two of three settle it
    examples = training_examples(task, labels)
    assert sum(prompt[0] == "S" for prompt, _ in examples) == len(problems)  # the first steps


def test_chain_vote_on_one_digit_is_fast_alone(monkeypatch):
    monkeypatch.setattr(decoding, "greedy", scripted())
    [lab] = ChainVote(k=3)(None, task, [Problem("7", "5", 1)])
    assert lab.label == 13 and lab.candidates == [13] and lab.first_step is None


def test_fast_only_labeller_is_fast(monkeypatch, problems):
    monkeypatch.setattr(decoding, "greedy", scripted(fast_wrong=lambda p: True))
    labels = FastOnly()(None, task, problems)
    assert all(lab.label == oracle.answer(lab.problem) + 1 for lab in labels)


def test_twins_skip_fast_alone_which_only_reports(monkeypatch, problems):
    prompts = []

    def counting(model, batch, max_new_tokens, **kw):
        prompts.extend(batch)
        return scripted()(model, batch, max_new_tokens, **kw)

    monkeypatch.setattr(decoding, "greedy", counting)
    labeller = SimplifyThenGuess(k=5)
    labels = labeller(None, task, problems)
    apply_filters(None, task, labeller, [Commutativity()], labels)
    assert all(lab.fast == oracle.answer(lab.problem) and lab.twin.fast is None for lab in labels)
    whole = {task.fast_prompt(p) for p in problems} | {task.fast_prompt(task.twin(p)) for p in problems}
    assert sum(prompt in whole for prompt in prompts) == len(problems)  # FAST alone: the originals only


def test_evaluation_decodes_every_length_together(monkeypatch):
    from sector.evaluate import Evaluator

    fake = scripted(fast_wrong=lambda p: p.digits == 3, slow_garbled=lambda p: p.digits == 6)
    calls = []
    monkeypatch.setattr(decoding, "greedy", lambda m, prompts, n, **kw: calls.append(len(prompts)) or fake(m, prompts, n))
    rng = np.random.default_rng(0)
    by_length = {d: task.sample(rng, d, 10) for d in (2, 3, 5, 6)}
    rows = Evaluator(task, oracle, {}).accuracy(None, by_length)
    assert {(r["mode"], r["digits"]): r["correct"] for r in rows} == {
        ("fast", 2): 10, ("fast", 3): 0, ("fast", 5): 10, ("fast", 6): 10,
        ("slow", 2): 10, ("slow", 3): 10, ("slow", 5): 10, ("slow", 6): 0}  # a garbled step ends the chain
    # FAST in one call; the chain: 4 steps (the 5-digit problems), then FAST on what is left of each.
    assert calls == [40, 40, 20, 10, 10, 30]


def run_parts(cfg):
    """The labeller and filters a run of `cfg` labels with, decoding with its settings."""
    from sector.experiment import decode_settings
    from sector.labelling import labelling_from_config

    return labelling_from_config(cfg.rounds, decode_settings(cfg))


def test_labellers_and_their_twins_decode_with_the_runs_settings(monkeypatch):
    from sector.config import preset

    seen = []
    fake = scripted()
    monkeypatch.setattr(decoding, "greedy", lambda m, prompts, n, **kw: seen.append(kw) or fake(m, prompts, n))
    for name in ("sng", "chain", "fast"):
        seen.clear()
        labeller, _ = run_parts(preset("test", {"rounds.labeller": name, "compute.decode_batch": 7,
                                                "compute.decode_precision": "bf16"}))
        labels = labeller(None, task, task.sample(np.random.default_rng(0), 4, 5))
        apply_filters(None, task, labeller, [Commutativity()], labels)
        assert seen and all({k: kw[k] for k in kw if k != "drafts"} == {"batch_size": 7, "bf16": True}
                            for kw in seen), name


def test_the_runs_labeller_and_filters_are_the_ones_its_config_names():
    from sector.config import preset
    from sector.labelling import CHAIN_K

    labeller, filters = run_parts(preset("test", {"rounds.labeller": "sng", "rounds.sng_k": 4,
                                                  "rounds.filters": ("split", "commutativity")}))
    assert isinstance(labeller, SimplifyThenGuess) and labeller.k == 4
    assert [type(f) for f in filters] == [SplitCheck, Commutativity]  # in the config's order
    labeller, filters = run_parts(preset("test", {"rounds.labeller": "chain", "rounds.filters": ()}))
    assert isinstance(labeller, ChainVote) and labeller.k == CHAIN_K == 3
    assert filters == []
    assert isinstance(run_parts(preset("test", {"rounds.labeller": "fast"}))[0], FastOnly)


def test_the_split_check_decodes_with_the_runs_settings(monkeypatch):
    from sector.config import preset

    seen, fake = [], scripted()
    monkeypatch.setattr(decoding, "greedy", lambda m, prompts, n, **kw: seen.append(kw) or fake(m, prompts, n))
    _, filters = run_parts(preset("test", {"rounds.filters": ("split",), "compute.decode_batch": 7,
                                           "compute.decode_precision": "bf16"}))
    labels = SimplifyThenGuess(k=3)(None, task, task.sample(np.random.default_rng(0), 6, 5))
    seen.clear()
    assert apply_filters(None, task, None, filters, labels)["split"] == 0
    assert seen and all({k: kw[k] for k in kw if k != "drafts"} == {"batch_size": 7, "bf16": True} for kw in seen)


def test_label_and_filter_labels_then_applies_each_filter(monkeypatch, problems):
    from sector.labelling import label_and_filter

    # The first SLOW step errs whenever a > b: the twin check rejects one of each swapped pair.
    monkeypatch.setattr(decoding, "greedy", scripted(slow_wrong=lambda p: p.digits == 8 and p.a > p.b))
    labels, fired = label_and_filter(None, task, SimplifyThenGuess(k=5), [Commutativity()], problems)
    assert [lab.problem for lab in labels] == problems
    assert fired["commutativity"] == sum(p.a != p.b for p in problems) > 0
    assert sum(not lab.accepted for lab in labels) == sum(fired.values())
    assert all(lab.label == oracle.answer(lab.problem) for lab in labels if lab.accepted)


def top_column_error(from_digits):
    """A scripted decoder whose FAST adds one to the top column of problems of `from_digits`
    digits or more: the wrong labels that the twin check lets through, since every S&G
    candidate and the twin agree on them."""
    honest = scripted()

    def greedy(model, prompts, max_new_tokens, **kw):
        out = honest(model, prompts, max_new_tokens)
        return [task.fast_target(oracle.answer(p) + 10 ** (p.digits - 1), p)
                if prompt[0] == "F" and p.digits >= from_digits else text
                for prompt, text, p in zip(prompts, out, map(problem_of, prompts))]
    return greedy


def test_the_split_check_rejects_a_label_wrong_in_its_top_column(monkeypatch):
    # FAST is wrong from 6 digits up and right on half of 10 digits.
    problems = task.sample(np.random.default_rng(4), 10, 40)
    for fake, wrong_before in ((top_column_error(6), True), (scripted(), False)):
        monkeypatch.setattr(decoding, "greedy", fake)
        labeller = SimplifyThenGuess(k=5)
        labels = labeller(None, task, problems)
        apply_filters(None, task, labeller, [Commutativity()], labels)
        kept = [lab for lab in labels if lab.accepted]
        assert any(lab.label != oracle.answer(lab.problem) for lab in kept) == wrong_before
        fired = apply_filters(None, task, labeller, [SplitCheck()], kept)
        assert all(lab.label == oracle.answer(lab.problem) for lab in kept if lab.accepted)
        assert fired["split"] == (sum(lab.label != oracle.answer(lab.problem) for lab in kept) if wrong_before else 0)
        assert sum(lab.accepted for lab in kept) == sum(lab.label == oracle.answer(lab.problem) for lab in kept)


def test_the_pieces_check_catches_a_top_column_error_that_halves_share(monkeypatch):
    # FAST is wrong from 6 digits up. An 11-digit problem's high half has 6 digits and the
    # same error, so the split check keeps the wrong label; parts of at most 4 columns are
    # shorter than the error.

    def fired(name, problems, wrong):
        labels = [Label(p, oracle.answer(p) + wrong * 10 ** (p.digits - 1), [], None, 5) for p in problems]
        return apply_filters(None, task, None, [FILTERS[name]({})], labels)[name]

    # Top digits summing to 7 or less, so that the error never lengthens an answer (which the
    # structure check would catch).
    elevens = [p for p in task.sample(np.random.default_rng(11), 11, 80) if int(p.a[0]) + int(p.b[0]) <= 7]
    monkeypatch.setattr(decoding, "greedy", top_column_error(6))
    assert (fired("split", elevens, True), fired("pieces", elevens, True)) == (0, len(elevens)) and elevens
    # Right parts compose the right answer on lengths that 4 divides and that it does not.
    monkeypatch.setattr(decoding, "greedy", scripted())
    mixed = [p for d in (5, 8, 9, 11, 14) for p in task.sample(np.random.default_rng(d), d, 10)]
    assert (fired("pieces", mixed, False), fired("pieces", mixed, True)) == (0, 50)


def test_split_halves_carry_the_low_half_into_the_high_one():
    p = Problem("4587", "3897", 1)  # 87 + 97 + 1 = 185: the high half 45 + 38 + 1
    low, high, join = task.split(p)
    assert low == Problem("87", "97", 1) and high(185) == Problem("45", "38", 1) and high(85) == Problem("45", "38", 0)
    assert high(None) is None
    assert join(185, 84) == 8485 == 4587 + 3897 + 1
    low, high, join = task.split(Problem("912345", "187654", 0), low_digits=4)  # 2345 + 7654 = 9999: no carry
    assert low == Problem("2345", "7654", 0) and high(9999) == Problem("91", "18", 0)
    assert join(9999, 109) == 1099999 == 912345 + 187654


def test_fast_guesses_down_a_chain_and_of_twins_are_drafted_with_their_answers(monkeypatch, problems):
    # Where the chain is right, every FAST guess but the first of each problem has its whole
    # answer drafted (the decoder then checks it in one pass; test_cached_decoder.py).
    honest, drafted = scripted(), []

    def greedy(model, prompts, max_new_tokens, drafts=None, **kw):
        if prompts[0][0] == "F":
            drafted.extend(zip(prompts, drafts))
        return honest(model, prompts, max_new_tokens)

    monkeypatch.setattr(decoding, "greedy", greedy)
    labeller = SimplifyThenGuess(k=5)
    labels = labeller(None, task, problems)
    apply_filters(None, task, labeller, [Commutativity()], labels)
    originals = {task.fast_prompt(p) for p in problems}
    assert len(drafted) == 7 * len(problems)  # FAST alone + 3 settling guesses; the twin's 3
    for prompt, draft in drafted:
        p = problem_of(prompt)
        assert draft == ("" if prompt in originals else task.fast_target(oracle.answer(p), p)[1:])


def test_the_split_checks_fast_calls_are_drafted_from_the_label(monkeypatch):
    honest, drafted = scripted(), []

    def greedy(model, prompts, max_new_tokens, drafts=None, **kw):
        drafted.extend(zip(prompts, drafts))
        return honest(model, prompts, max_new_tokens)

    monkeypatch.setattr(decoding, "greedy", greedy)
    problems = task.sample(np.random.default_rng(5), 9, 30)
    labels = SimplifyThenGuess(k=3)(None, task, problems)
    drafted.clear()
    assert apply_filters(None, task, None, [SplitCheck()], labels)["split"] == 0
    assert len(drafted) == 2 * len(problems)
    for prompt, draft in drafted:  # all of each half's text but its carry-out, which the decoder writes
        text = task.fast_target(oracle.answer(problem_of(prompt)), problem_of(prompt))
        assert text[1:].startswith(draft) and len(draft) >= len(text) - 3
