"""How a round decides how long to train, what it holds out, and when the run stops."""
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from sector import method, mixture
from sector.config import preset
from sector.distributed import World
from sector.experiment import Experiment, round_fits, rng_for
from sector.labelling import Label
from sector.method import RoundData
from sector.tasks import get_task
from sector.tasks.arithmetic import Problem
from sector.training import Pool

TASK, _ = get_task("addition")
PLAIN, _ = get_task("addition", "plain")  # copies are raw strings of symbols in this format


class CountingTrainer:
    """Stands in for Trainer: counts the steps it is asked for."""

    def __init__(self):
        self.steps, self.lrs, self.floors = [], [], []

    def train(self, batches, steps, desc="", lr=None, min_lr_ratio=None):
        assert len(list(batches)) == steps
        self.steps.append(steps)
        self.lrs.append(lr)
        self.floors.append(min_lr_ratio)
        return {"loss": 0.5, "steps": steps, "tokens_per_s": 100.0, "wall_s": 1.0}


def fake_experiment(cfg, readings, fits=None):
    """What train_until_agreement and anneal touch of an Experiment: the config, the task, a
    counting trainer, FAST's check against the held-out labels (reading `readings` in turn)
    and the time budget (`fits`, a callable; default: always within it)."""
    readings = iter(readings)
    return SimpleNamespace(cfg=cfg, task=TASK, trainer=CountingTrainer(),
                           holdout_agreement=lambda holdout: next(readings),
                           fits=lambda next_round_s: fits() if fits else True,
                           stream=lambda kind, index: rng_for(cfg.seed, kind, index))


def round_data(replay=None):
    """Length 7 in replay, and held-out labels of 7 and of the round's new length 8."""
    return RoundData(replay=replay if replay is not None else {7: [("c", "d")]},
                     holdout={7: [("F7", "7")], 8: [("F8", "8")]})


def train_round(cfg, readings, fits=None):
    """One round at 8 digits with 7 earlier (in replay), its checks reading `readings` in turn;
    the trainer's step counts and the round's Training."""
    exp = fake_experiment(cfg, readings, fits)
    training = method.train_until_agreement(exp, [("a", "b")], round_data(), 8, {7: 0.9}, np.random.default_rng(0))
    return exp.trainer.steps, training


def test_a_round_trains_until_the_held_out_labels_agree():
    cfg = preset("test", {"rounds.steps": 3, "rounds.max_steps": 30, "rounds.agreement": 0.9,
                          "rounds.earlier_agreement": 0.9})
    steps, training = train_round(cfg, [{7: 0.5, 8: 0.95}, {7: 0.85, 8: 0.97}, {7: 0.92, 8: 0.91}, {7: 1.0, 8: 1.0}])
    assert steps == [3, 3, 3] and training.steps == 9
    assert [c["agreement"]["7"] for c in training.checks] == [0.5, 0.85, 0.92]
    assert [c["steps"] for c in training.checks] == [3, 6, 9]


def test_a_rounds_training_sums_its_chunks():
    cfg = preset("test", {"rounds.steps": 3, "rounds.max_steps": 30, "rounds.agreement": 0.9,
                          "rounds.earlier_agreement": 0.9})
    _, training = train_round(cfg, [{7: 0.5, 8: 0.5}, {7: 1.0, 8: 1.0}])
    assert (training.loss, training.steps, training.train_s, training.tokens_per_s) == (0.5, 6, 2.0, 100.0)
    assert training.agreement == {7: 1.0, 8: 1.0} and not training.cut_by_budget


def test_earlier_lengths_hold_a_round_only_below_their_floor():
    cfg = preset("test", {"rounds.steps": 3, "rounds.max_steps": 30, "rounds.agreement": 0.97,
                          "rounds.earlier_agreement": 0.94})
    # 8 at 0.96 is not there yet, 7 at 0.93 is forgetting, 7 at 0.95 is noise
    steps, training = train_round(cfg, [{7: 0.95, 8: 0.96}, {7: 0.93, 8: 0.99}, {7: 0.95, 8: 0.97}, {7: 1.0, 8: 1.0}])
    assert steps == [3, 3, 3] and training.agreement == {7: 0.95, 8: 0.97}


def test_a_round_converges_when_new_lengths_pass_their_floor_and_earlier_ones_theirs():
    assert method.round_converged({7: 0.95, 8: 0.97}, {8}, 0.97, 0.94)
    assert not method.round_converged({7: 0.95, 8: 0.96}, {8}, 0.97, 0.94)  # the new length short
    assert not method.round_converged({7: 0.93, 8: 0.99}, {8}, 0.97, 0.94)  # an earlier one forgotten
    assert not method.round_converged({7: 0.95, 8: 0.97}, {7, 8}, 0.97, 0.94)  # both new: both at 0.97
    assert method.round_converged({}, {8}, 0.97, 0.94)  # nothing held out: nothing to wait for


def test_the_budget_starts_no_round_that_would_end_past_it():
    assert round_fits(elapsed_s=50 * 60, last_round_s=9 * 60, budget_min=60)
    assert not round_fits(elapsed_s=50 * 60, last_round_s=11 * 60, budget_min=60)
    assert not round_fits(elapsed_s=61 * 60, last_round_s=0, budget_min=60)
    assert round_fits(elapsed_s=1e9, last_round_s=1e9, budget_min=0)


def test_a_round_stops_at_its_step_cap():
    cfg = preset("test", {"rounds.steps": 4, "rounds.max_steps": 10, "rounds.agreement": 0.99})
    steps, training = train_round(cfg, [{8: 0.5}] * 3)
    assert steps == [4, 4, 2] and training.steps == 10 and len(training.checks) == 3


def test_replay_leans_on_the_lengths_whose_held_out_labels_fast_now_gets_wrong():
    replay = {d: [("x", "y")] for d in (1, 7, 8)}
    pools = {p.name: p.weight for p in mixture.replay_pools(replay, 0.3, {7: 1.0, 8: 0.6}, focus=10.0)}
    assert pools["replay8"] == pytest.approx(5 * pools["replay7"]) and pools["replay1"] == pools["replay7"]
    assert sum(pools.values()) == pytest.approx(0.3)
    even = [p.weight for p in mixture.replay_pools(replay, 0.3, {8: 0.6}, focus=0.0)]
    assert even == pytest.approx([0.1, 0.1, 0.1])


def test_a_rounds_mixture_is_new_labels_replay_leaning_on_forgotten_lengths_and_copying():
    mix = preset("test").mixture
    replay = {d: [("x", "y")] for d in (1, 7)}
    pools = {p.name: p.weight for p in mixture.round_mixture(mix, TASK, [("a", "b")], replay, {7: 0.9}, 8)}
    assert set(pools) == {"new", "copy", "copy-problems", "replay1", "replay7"}
    assert pools["new"] == mixture.NEW_WEIGHT == 0.4
    assert pools["replay1"] + pools["replay7"] == pytest.approx(mixture.REPLAY_WEIGHT) == 0.3
    assert pools["copy"] + pools["copy-problems"] == pytest.approx(mixture.COPY_WEIGHT) == 0.3
    assert pools["replay7"] == pytest.approx((1 + mixture.REPLAY_FOCUS * 0.1) * pools["replay1"])  # focus 10


def test_phase_1_trains_its_lengths_in_equal_shares_beside_copying():
    mix = preset("test").mixture
    pools = {p.name: p.weight for p in mixture.phase1_mixture(mix, TASK, {1: [("a", "b")], 2: [("c", "d")],
                                                                          3: [("e", "f")]}, range(1, 3))}
    assert pools == pytest.approx({"len1": 0.35, "len2": 0.35, "copy": 0.3})


def test_the_holdout_is_accepted_labels_kept_out_of_training():
    labels = [Label(Problem("12", "34", 0), 46, [46], 46, 1, reason=None if i % 3 else "no_majority")
              for i in range(60)]
    train, held = method.split_holdout(labels, 100, np.random.default_rng(0))
    assert len(held) == 40 // 5  # at most a fifth of the 40 accepted
    assert all(lab.accepted for lab in held)
    assert not {id(x) for x in held} & {id(x) for x in train}
    assert len(train) + len(held) == len(labels)


@pytest.mark.slow
def test_the_time_budget_ends_the_run_before_a_round(tmp_path):
    summary = method.run(preset("test", {"rounds.time_budget_min": 1e-6}), str(tmp_path / "run"), log=lambda _: None)
    assert summary["rounds"] == 0 and "time budget" in summary["stop_reason"]


@pytest.mark.slow
def test_rounds_record_their_steps_and_checks(tiny_run):
    out, _ = tiny_run
    rounds = [json.loads(x) for x in (out / "progress.jsonl").read_text().splitlines()]
    rounds = [r for r in rounds if r["unit"] == "round"]
    cfg = preset("test")
    assert len(rounds) == 2
    for r in rounds:
        assert cfg.rounds.steps <= r["steps"] <= cfg.rounds.max_steps
        assert r["checks"][-1]["steps"] == r["steps"]
        assert not held_prompts(out, r["digits"]) & trained_prompts(out, r["digits"])


@pytest.mark.slow
def test_the_rounds_check_the_supervised_lengths_on_held_out_phase1_problems(tiny_run):
    out, _ = tiny_run
    task, oracle = get_task("addition")
    rounds = [r for r in map(json.loads, (out / "progress.jsonl").read_text().splitlines()) if r["unit"] == "round"]
    for r in rounds:
        checked = set(r["checks"][-1]["agreement"])  # a self-trained length may hold out no label here
        assert {"1", "2"} <= checked <= {str(d) for d in range(1, r["digits"] + 1)}
    for d in (1, 2):  # the test preset's supervised lengths
        rows = [json.loads(x) for x in (out / f"data/holdout_len{d:02d}.jsonl").read_text().splitlines()]
        assert len(rows) == preset("test").rounds.holdout_labels
        for row in rows:
            problem = task.parse_body(row["prompt"][1:])  # F, then the problem as prompts write it
            assert problem.digits == d and row["target"] == task.fast_target(oracle.answer(problem), problem)


def held_prompts(out, digits: int) -> set[str]:
    return {x["prompt"] for x in map(json.loads, (out / f"data/holdout_len{digits:02d}.jsonl").read_text().splitlines())}


def trained_prompts(out, digits: int) -> set[str]:
    return {x["prompt"] for x in map(json.loads, (out / f"data/self_len{digits:02d}.jsonl").read_text().splitlines())}


@pytest.mark.slow
def test_a_round_can_label_several_lengths(tmp_path):
    out = tmp_path / "run"
    summary = method.run(preset("test", {"rounds.lengths": 2, "rounds.max_rounds": 2}), str(out), log=lambda _: None)
    assert summary["trained_to"] == 2 + 4  # two rounds of two lengths past the supervised 1..2
    rounds = [r for r in map(json.loads, (out / "progress.jsonl").read_text().splitlines()) if r["unit"] == "round"]
    assert [r["lengths"] for r in rounds] == [[3, 4], [5, 6]] and [r["digits"] for r in rounds] == [4, 6]
    for d in range(3, 7):
        trained = trained_prompts(out, d)
        assert all(len(p[1:].split("+")[0]) == d for p in trained if p.startswith("F"))
        assert not held_prompts(out, d) & trained
    labelled = {len(json.loads(x)["problem"].split("+")[0]) for x in (out / "labels/round_001.jsonl").read_text().splitlines()}
    assert labelled == {3, 4}
    evaluated = {r["digits"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
                 if r["round"] == 1 and r["mode"] == "label_accepted"}
    assert evaluated == {3, 4}


def scripted_labelling(acceptance: dict[int, float], labelled: list[int]):
    """A label_and_filter stand-in whose labels are accepted at the given share per length."""
    def label_and_filter(model, task, labeller, filters, problems):
        digits, count = problems[0].digits, len(problems)
        assert all(p.digits == digits for p in problems)
        labelled.append(digits)
        accepted = int(acceptance[digits] * count)
        labels = [Label(p, 1, [1], 1, 1, reason=None if i < accepted else "no_majority")
                  for i, p in enumerate(problems)]
        return labels, {"no_majority": count - accepted}
    return label_and_filter


def labelling_experiment(cfg, frontier):
    """What label_new_lengths touches of an Experiment."""
    return SimpleNamespace(cfg=cfg, world=World(), task=TASK, model=None, state=SimpleNamespace(frontier=frontier),
                           stream=lambda kind, index: rng_for(cfg.seed, kind, index))


@pytest.mark.parametrize("acceptance, kept, labelled", [
    ({7: 0.9, 8: 0.8, 9: 0.7}, [7, 8, 9], [7, 8, 9]),
    ({7: 0.9, 8: 0.3, 9: 0.9}, [7], [7, 8]),  # 8 fails: the round keeps 7 and labels no further
    ({7: 0.2, 8: 0.9, 9: 0.9}, [], [7]),  # the first length fails: the run stops
])
def test_a_round_keeps_the_lengths_before_the_first_that_fails(monkeypatch, acceptance, kept, labelled):
    seen: list[int] = []
    monkeypatch.setattr(method, "label_and_filter", scripted_labelling(acceptance, seen))
    cfg = preset("test", {"rounds.lengths": 3, "rounds.problems": 10, "rounds.stop_acceptance": 0.5})
    batch = method.label_new_lengths(labelling_experiment(cfg, 6), None, [])
    assert batch.kept == kept and seen == labelled and list(batch.acceptance) == labelled
    assert batch.acceptance == {d: int(10 * acceptance[d]) / 10 for d in labelled}
    assert len(batch.labels) == 10 * len(labelled)
    assert batch.fired["no_majority"] == sum(10 - int(10 * acceptance[d]) for d in labelled)


def test_a_round_labels_the_same_problems_whenever_it_is_run(monkeypatch):
    """Problems are drawn by the seed and the length: a resumed round labels the ones it began with."""
    monkeypatch.setattr(method, "label_and_filter", scripted_labelling({7: 1.0, 8: 1.0}, []))
    cfg = preset("test", {"rounds.lengths": 2, "rounds.problems": 10})
    first, again = (method.label_new_lengths(labelling_experiment(cfg, 6), None, []) for _ in range(2))
    assert [lab.problem for lab in first.labels] == [lab.problem for lab in again.labels]
    assert [lab.problem.digits for lab in first.labels] == [7] * 10 + [8] * 10
    other_seed = preset("test", {"seed": 1, "rounds.lengths": 2, "rounds.problems": 10})
    elsewhere = method.label_new_lengths(labelling_experiment(other_seed, 6), None, [])
    assert [lab.problem for lab in elsewhere.labels] != [lab.problem for lab in first.labels]


@pytest.mark.parametrize("digits, shortest, longest", [(0, 1, 8), (7, 14, 2 * (7 + 6) + 2)])
def test_copying_reaches_past_the_round_length(digits, shortest, longest):
    # a round copies up to COPY_AHEAD = 6 digits past its length, strings at least COPY_MIN_SHARE = 0.5 of the longest
    assert (mixture.COPY_AHEAD, mixture.COPY_MIN_SHARE) == (6, 0.5)
    mix = preset("test", {"mixture.copy_max_len": 8}).mixture
    free = mixture.copy_pools(mix, PLAIN, digits)[0]
    strings = [t for _, t in free.draw(np.random.default_rng(0), 4000)]
    assert min(map(len, strings)) == shortest and max(map(len, strings)) == longest
    assert set("".join(strings)) == set(PLAIN.symbols)


def test_copies_in_the_columns_format_carry_index_letters_like_prompts():
    from sector.tasks.arithmetic import index_letters

    free = mixture.copy_pools(preset("test").mixture, TASK, 7)[0]
    for prompt, target in free.draw(np.random.default_rng(0), 500):
        pairs = (len(target) + 2) // 3
        assert prompt == "C" + target and target[0::3] == index_letters(pairs)
        assert set(target[1::3] + target[2::3]) <= set(TASK.symbols)


def test_a_round_also_copies_problems_with_a_zero_padded_operand():
    mix = preset("test").mixture
    assert [p.name for p in mixture.copy_pools(mix, TASK, 0)] == ["copy"]  # phase 1: free strings only
    free, problems = mixture.copy_pools(mix, PLAIN, 7)
    assert mixture.COPY_PROBLEMS == 0.5  # half of a round's copying is of problems
    assert (free.weight, problems.weight) == pytest.approx((0.3 * 0.5, 0.3 * 0.5))
    examples = problems.draw(np.random.default_rng(0), 2000)
    assert all(prompt == "C" + target for prompt, target in examples)
    operands = [target.split("+")[:2] for _, target in examples]
    assert {len(a) for a, b in operands} == set(range(6, 14))  # round(0.5 x 13) .. 7 + 6 digits
    assert all(len(a) == len(b) for a, b in operands)
    # least significant digit first: a padded operand ends in zeros, and most have one
    padded = [a.endswith("0") and not b.endswith("0") or b.endswith("0") and not a.endswith("0") for a, b in operands]
    assert 0.7 < np.mean(padded) < 1.0


@pytest.mark.parametrize("name", ["addition", "subtraction"])
def test_replayed_slow_steps_are_widened_with_zeros_and_stay_right(name):
    task, oracle = get_task(name)
    rng = np.random.default_rng(0)
    examples = [ex for d in (2, 5, 9) for ex in method.supervised_examples(task, oracle, rng, d, 300, families={"uniform": 0.8, "mixed": 0.2})]
    drawn = Pool("replay", 1.0, examples, mixture.widened_steps(task, width=11)).draw(np.random.default_rng(1), 6000)
    steps = [(task.parse_slow_prompt(prompt), target) for prompt, target in drawn if prompt[0] == "S"]
    assert all(p is not None for p, _ in steps) and len(steps) > 2500
    assert {ex for ex in drawn if ex[0][0] == "F"} <= set(examples)  # FAST examples pass through as they are
    assert all(task.parse_slow(target, p) == oracle.slow_step(p) for p, target in steps)
    widths = {p.digits for p, _ in steps}
    assert widths == set(range(2, 12))  # 2, 5 and 9 digits, padded up to 11
    own = {prompt for prompt, _ in examples}
    widened = [p for p, _ in steps if task.slow_prompt(p) not in own]
    assert 0.3 < len(widened) / len(steps) < 0.5  # half are padded; some of those to their own width
    assert all(p.a.startswith("0") and p.b.startswith("0") for p in widened)


@pytest.mark.parametrize("name", ["addition", "subtraction"])
def test_steps_widened_under_a_mixed_problem_stay_right_with_one_operand_run_to_full_width(name):
    task, oracle = get_task(name)
    rng = np.random.default_rng(0)
    examples = [ex for d in (2, 5) for ex in method.supervised_examples(task, oracle, rng, d, 300)]
    drawn = Pool("replay", 1.0, examples, mixture.widened_steps(task, width=12, mixed=1.0)).draw(np.random.default_rng(1), 4000)
    steps = [(task.parse_slow_prompt(prompt), target) for prompt, target in drawn if prompt[0] == "S"]
    assert all(p is not None for p, _ in steps)
    assert all(task.parse_slow(target, p) == oracle.slow_step(p) for p, target in steps)
    own = {prompt for prompt, _ in examples}
    widened = [p for p, _ in steps if task.slow_prompt(p) not in own]
    assert len(widened) > 0.3 * len(steps)
    assert all(p.a >= p.b for p in widened) or name == "addition"  # still a valid subtraction
    one_full = [(p.a[0] == "0") != (p.b[0] == "0") for p in widened]
    assert 0.6 < np.mean(one_full) < 1.0  # the rest: both operands' new digits full (a 1-digit widening, say)
    zeros_first = [p.a[0] == "0" for p, full in zip(widened, one_full) if full]
    assert 0.3 < np.mean(zeros_first) < 0.7 if name == "addition" else not any(zeros_first)


def test_a_replayed_length_without_examples_is_left_out_of_the_mixture():
    cfg = preset("test", {"rounds.steps": 2, "rounds.max_steps": 2, "mixture.replay_pad_ahead": 3})
    exp = fake_experiment(cfg, [{8: 1.0}])
    data = RoundData(replay={7: [], 8: [("Fc", "d")]}, holdout={8: [("Fc", "d")]})
    method.train_until_agreement(exp, [("a", "b")], data, 9, {8: 1.0}, np.random.default_rng(0))
    assert exp.trainer.steps == [2]


def test_a_round_replays_widened_steps_only_when_asked(monkeypatch):
    seen = []
    monkeypatch.setattr(mixture, "widened_steps", lambda task, width, mixed: seen.append(width) or (lambda r, exs: exs))
    for ahead, expected in ((0, []), (3, [11])):
        cfg = preset("test", {"rounds.steps": 1, "rounds.max_steps": 1, "mixture.replay_pad_ahead": ahead})
        exp = fake_experiment(cfg, [{7: 1.0, 8: 1.0}])
        method.train_until_agreement(exp, [("a", "b")], round_data(), 8, {7: 1.0}, np.random.default_rng(0))
        assert seen == expected


@pytest.mark.slow
def test_phase_1_ends_on_the_rounds_mixture_with_steps_wider_than_any_supervised_problem(tmp_path, monkeypatch):
    from sector.training import Trainer

    calls, train = [], Trainer.train

    def recording(self, batches, steps, desc="", **kwargs):
        batches = [b for _, b in zip(range(steps), batches)]
        calls.append((desc, steps, batches))
        return train(self, iter(batches), steps, desc, **kwargs)

    monkeypatch.setattr(Trainer, "train", recording)
    cfg = preset("test", {"rounds.max_rounds": 0, "anneal.steps": 0, "phase1.bridge_steps": 10,
                          "mixture.replay_pad_ahead": 3, "phase1.slow_pad_to": 0})
    summary = method.run(cfg, str(tmp_path / "run"), log=lambda _: None)
    assert [desc.startswith("phase 1") for desc, _, _ in calls] == [True] * len(calls)
    bridge_desc, steps, batches = calls[-1]
    assert "rounds' mixture" in bridge_desc and steps == 10 and summary["phase1_steps"] == cfg.phase1.max_steps + 10
    width = {d: max((p.digits for p in map(TASK.parse_slow_prompt, (x for b in bs for x, _ in b)) if p), default=0)
             for d, bs in (("stages", [b for _, _, bs in calls[:-1] for b in bs]), ("bridge", batches))}
    assert width["stages"] == cfg.phase1.digits < width["bridge"] <= cfg.phase1.digits + 3


def test_copy_strings_double_characters_at_their_rate():
    from sector.tasks.copying import copy_examples

    def neighbours_equal(strings: list[str]) -> float:
        pairs = [(a, b) for s in strings for a, b in zip(s, s[1:])]
        return np.mean([a == b for a, b in pairs])

    chance = 1 / len(PLAIN.symbols)
    for repeat in (0.0, 0.3):
        strings = [t for _, t in copy_examples(np.random.default_rng(1), 4000, 30, PLAIN, repeat=repeat)]
        assert abs(neighbours_equal(strings) - (repeat + (1 - repeat) * chance)) < 0.01
        # a string starts afresh: its first character ignores the string before it
        across = np.mean([a[-1] == b[0] for a, b in zip(strings, strings[1:])])
        assert abs(across - chance) < 0.02


def _longest_run(text: str) -> int:
    return max(len(m.group()) for m in re.finditer(r"(.)\1*", text))


def test_copy_strings_hold_long_runs_in_their_share():
    from sector.tasks.copying import copy_examples

    rng = np.random.default_rng(0)
    plain = copy_examples(rng, 3000, 24, PLAIN)
    with_runs = copy_examples(rng, 3000, 24, PLAIN, runs=0.5)
    assert all(p == "C" + t for p, t in plain + with_runs)
    long_plain = np.mean([_longest_run(t) >= 8 for _, t in plain])
    long_runs = np.mean([_longest_run(t) >= 8 for _, t in with_runs])
    # half the strings have a run, its length uniform in 1..n, n uniform in 1..24 (a longer
    # run arising by chance from the uniform part is rare enough to ignore at this tolerance)
    expected = 0.5 * np.mean([max(0, n - 7) / n for n in range(1, 25)])
    assert long_plain < 0.001 and abs(long_runs - expected) < 0.03
    assert max(map(len, (t for _, t in with_runs))) == 24 and set("".join(t for _, t in with_runs)) == set(PLAIN.symbols)


def test_merged_shards_score_like_the_whole():
    from sector.evaluate import merge_rows, score_row

    parts = [[score_row("fast", 3, 40, 50), score_row("slow", 3, 10, 50), score_row("fast", 4, 0, 0)],
             [score_row("fast", 3, 45, 50), score_row("slow", 3, 20, 50), score_row("fast", 4, 2, 3)]]
    merged = {(r["mode"], r["digits"]): r for r in merge_rows(parts)}
    assert merged["fast", 3] == score_row("fast", 3, 85, 100)
    assert merged["slow", 3]["accuracy"] == 0.3 and merged["fast", 4] == score_row("fast", 4, 2, 3)


def test_agreement_is_exact_match_per_length(monkeypatch):
    import sector.decoding as decoding

    outputs, drafts = {"p1": "12", "p2": "99", "p3": "7"}, []
    monkeypatch.setattr(decoding, "greedy", lambda model, prompts, max_new_tokens, **kw:
                        drafts.extend(kw["drafts"]) or [outputs[p] for p in prompts])
    held = {7: [("p1", "12"), ("p2", "98")], 8: [("p3", "7")], 9: []}
    assert decoding.agreement(None, held) == {7: (1, 2), 8: (1, 1), 9: (0, 0)}
    assert drafts == ["2", "8", ""]  # each target after its first character
    exp = Experiment(cfg=preset("test"), world=World(), task=TASK, rundir=None, trainer=SimpleNamespace(model=None),
                     state=None, evaluator=None, started=0.0, log=print, tb=None, provenance={})
    assert exp.holdout_agreement(held) == {7: 0.5, 8: 1.0}  # a length with no held-out label is left out


def test_a_round_past_the_time_budget_stops_after_its_chunk():
    cfg = preset("test", {"rounds.steps": 3, "rounds.max_steps": 30, "rounds.agreement": 0.99,
                          "rounds.earlier_agreement": 0.99})
    within = iter([True, False])
    steps, training = train_round(cfg, [{7: 0.5, 8: 0.5}] * 10, fits=lambda: next(within))
    assert steps == [3, 3] and training.cut_by_budget and len(training.checks) == 2
    _, training = train_round(cfg, [{7: 0.5, 8: 0.5}] * 10)  # no deadline: the step cap ends it
    assert training.steps == 30 and not training.cut_by_budget


@pytest.mark.slow
def test_a_run_with_the_split_filter_counts_it(tmp_path):
    summary = method.run(preset("test", {"phase1.digits": 4, "rounds.filters": ("commutativity", "split")}),
                         str(tmp_path / "run"), log=lambda _: None)
    rounds = [json.loads(x) for x in (tmp_path / "run" / "progress.jsonl").read_text().splitlines()]
    fired = [r["filters"] for r in rounds if r["unit"] == "round"]
    assert summary["rounds"] >= 1 and fired and all(set(f) == {"structure", "no_majority", "commutativity", "split"}
                                                    for f in fired)


def test_a_round_trains_at_round_lr_when_set():
    for round_lr, expected in ((0.0, None), (3e-4, 3e-4)):
        cfg = preset("test", {"rounds.steps": 3, "rounds.max_steps": 6, "rounds.agreement": 0.99,
                              "rounds.lr": round_lr})
        exp = fake_experiment(cfg, [{7: 0.5, 8: 0.5}] * 2)  # never settles: two chunks
        method.train_until_agreement(exp, [("a", "b")], round_data(), 8, {7: 1.0}, np.random.default_rng(0))
        assert exp.trainer.lrs == [expected, expected]  # None: the trainer's own train.lr


class AnnealRecorder(SimpleNamespace):
    """A fake Experiment for anneal: records what it is told."""

    def record_anneal(self, record):
        self.record = record


def test_the_anneal_trains_every_length_evenly_with_the_lr_falling_to_zero(monkeypatch):
    cfg = preset("test", {"anneal.steps": 5, "anneal.lr": 2e-4})
    mixtures = []
    real = method.replay_mixture
    monkeypatch.setattr(method, "replay_mixture", lambda *a: mixtures.append(real(*a)) or mixtures[-1])
    fake = fake_experiment(cfg, [{7: 0.99, 8: 1.0}])
    exp = AnnealRecorder(**vars(fake), state=SimpleNamespace(annealed=False))
    data = RoundData(replay={1: [("Fa", "b")], 7: [("Fc", "d")], 8: [("Fe", "f")]}, holdout={7: [], 8: []})
    method.anneal(exp, data, {1: 1.0, 7: 0.5, 8: 0.9})  # FAST forgetting 7: the anneal leans on no length
    assert exp.trainer.steps == [5] and exp.trainer.lrs == [2e-4] and exp.trainer.floors == [0.0]
    replay = {p.name: p.weight for p in mixtures[0] if p.name.startswith("replay")}
    assert replay == pytest.approx({"replay1": 0.1, "replay7": 0.1, "replay8": 0.1})
    assert exp.state.annealed
    assert exp.record.agreement_before == {1: 1.0, 7: 0.5, 8: 0.9}  # where the last round left it
    assert exp.record.agreement_after == {7: 0.99, 8: 1.0} and exp.record.training.steps == 5


def test_an_anneal_after_a_resume_checks_the_held_out_labels_first():
    cfg = preset("test", {"anneal.steps": 2})
    fake = fake_experiment(cfg, [{8: 0.9}, {8: 1.0}])
    exp = AnnealRecorder(**vars(fake), state=SimpleNamespace(annealed=False))
    method.anneal(exp, RoundData(replay={8: [("Fe", "f")]}, holdout={8: []}), None)
    assert (exp.record.agreement_before, exp.record.agreement_after) == ({8: 0.9}, {8: 1.0})
