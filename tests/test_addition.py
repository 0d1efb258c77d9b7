import numpy as np
import pytest

from sector.tasks import get_task
from sector.tasks.arithmetic import INDEX_LETTERS, PROMPT_FORMATS, Problem

task, oracle = get_task("addition")
plain, _ = get_task("addition", "plain")


def test_sample_has_exact_lengths_and_both_carries():
    problems = task.sample(np.random.default_rng(0), 7, 400)
    assert all(len(p.a) == len(p.b) == 7 and p.a[0] != "0" and p.b[0] != "0" for p in problems)
    assert {p.carry for p in problems} == {0, 1}


def test_slow_step_then_fast_equals_the_sum():
    for p in task.sample(np.random.default_rng(1), 9, 200):
        digit, rest = oracle.slow_step(p)
        assert rest.digits == 8
        assert task.combine([digit], oracle.answer(rest)) == oracle.answer(p)


@pytest.mark.parametrize("prompt_format, prompt, target", [
    ("columns", "S077|a89b58c43", "4|a89b58c43+1"),
    ("plain", "S077|854+983", "4|854+983+1"),
])
def test_prompts_round_trip_through_the_strict_parsers(prompt_format, prompt, target):
    writer, _ = get_task("addition", prompt_format)
    p = Problem("4587", "3897", 0)
    digit, rest = oracle.slow_step(p)
    assert (digit, rest) == (4, Problem("458", "389", 1))
    assert writer.slow_prompt(p) == prompt
    assert writer.slow_target(digit, rest) == target
    assert writer.parse_slow(target, p) == (digit, rest)
    assert writer.parse_fast(writer.fast_target(oracle.answer(p), p), p) == 8484
    assert writer.parse_slow_prompt(prompt) == p
    assert writer.parse_slow_prompt(prompt[:-1]) is None and writer.parse_slow_prompt(writer.fast_prompt(p)) is None
    assert writer.slow_draft(p) == target[1:-2]  # the tail, copied; the carry-out is left to the model


def test_the_columns_format_gives_every_column_its_own_letter():
    p = Problem("5000000000", "5000000000")
    assert task.fast_prompt(p) == "F" + "".join(f"{c}00" for c in "abcdefghi") + "j55"
    assert task.body(Problem("12", "34", 1)) == "a24b13+1"
    long = task.body(Problem("1" * 60, "2" * 60))
    assert long[0::3] == (INDEX_LETTERS + INDEX_LETTERS)[:60] and not set("CFS") & set(INDEX_LETTERS)
    assert task.copy_text("12345") == "a12b34c5"


def test_fast_answers_in_the_columns_format_are_lettered():
    p = Problem("4587", "3897")
    assert task.fast_target(8484, p) == "a4b8c4d8" and task.parse_fast("a4b8c4d8", p) == 8484
    assert task.fast_text_after_step("a4b8c4d8") == "a8b4c8"  # FAST's text on 458+389+1, guessed
    for text in ("4848", "a4b8c4", "a4b8d4c8", "a4b8c4d", "a4b8c4d8e", "a4b8c4dx"):
        assert task.parse_fast(text, p) is None
    assert task.parse_fast("a5b5c4", Problem("123", "456")) is None  # 455 < 456: the bound, lettered
    assert task.parse_slow_prompt("S058|a43\n") is None and plain.parse_slow_prompt("S058|3+4\n") is None


@pytest.mark.parametrize("text", ["4|a89b58c4+1", "4|a89c58b43", "4|89b58c43", "4|a89b58c43+2", "4|a89b58c43+1+1",
                                  "4|a89b58c43d00", "4|a8xb58c43", "4|854+983"])
def test_the_columns_parser_rejects_misplaced_letters_digits_and_carries(text):
    assert task.parse_slow(text, Problem("4587", "3897")) is None


def test_every_family_round_trips_through_both_formats():
    for prompt_format in PROMPT_FORMATS:
        writer, _ = get_task("addition", prompt_format)
        for family in writer.families:
            for p in writer.sample(np.random.default_rng(3), 12, 50, family):
                digit, rest = oracle.slow_step(p)
                assert writer.parse_slow(writer.slow_target(digit, rest), p) == (digit, rest)
                assert writer.parse_slow_prompt(writer.slow_prompt(p)) == p


@pytest.mark.parametrize("text", ["", "12", "1234", "12a", "1112", "-12", "١٢٣", "554"])
def test_fast_parser_rejects_malformed_or_impossible_sums(text):
    # A 3-digit sum has 3 or 4 digits, a 4th digit can only be a 1, and it is at least
    # its larger operand (554 reversed is 455 < 456).
    assert plain.parse_fast(text, Problem("123", "456")) is None


def test_the_bound_catches_a_one_dropped_from_the_carry_out_run():
    p = Problem("6135575314805241668", "4982596000333966729")  # = 11118171315139208397
    assert plain.parse_fast("79380293151317181111", p) == 11118171315139208397
    assert plain.parse_fast("7938029315131718111", p) is None  # a real self-label, one 1 short


@pytest.mark.parametrize("text", ["", "4", "4|", "4|54+83", "4|8541+9831", "44|854+983", "4|854+983+2",
                                  "4|854+983+1+1", "x|854+983", "4|85a+983", "\u00b2|854+983", "\u0664|854+983"])
def test_slow_parser_rejects_steps_that_do_not_shorten_by_one_digit(text):
    assert get_task("addition", "plain")[0].parse_slow(text, Problem("4587", "3897")) is None


def test_parse_problem_pads_mixed_lengths_and_reads_carry():
    assert task.parse_problem("123+45678") == Problem("00123", "45678", 0)
    assert task.parse_problem(" 12 + 34 + 1 ") == Problem("12", "34", 1)


@pytest.mark.parametrize("text", ["12a+3", "+5", "1+2+2", "", "-1+2", "1+-2", "1" * 10_000 + "+1"])
def test_parse_problem_rejects_malformed_input(text):
    with pytest.raises(ValueError):
        task.parse_problem(text)


def test_mixed_samples_have_one_shorter_operand_written_zero_padded():
    problems = task.sample(np.random.default_rng(2), 8, 2000, "mixed")
    assert all(len(p.a) == len(p.b) == 8 and (p.a[0] == "0") + (p.b[0] == "0") <= 1 for p in problems)
    shorter = [min(len(p.a.lstrip("0")), len(p.b.lstrip("0"))) for p in problems]
    assert set(shorter) == set(range(1, 9))
    assert {p.a[0] == "0" for p in problems} == {True, False}  # either operand may be the short one


def test_a_mixed_share_pads_about_that_share_of_problems():
    problems = task.sample(np.random.default_rng(3), 6, 4000, {"uniform": 0.75, "mixed": 0.25})
    padded = sum(p.is_mixed for p in problems) / len(problems)
    assert 0.25 * 5 / 6 - 0.03 < padded < 0.25 * 5 / 6 + 0.03  # a drawn length of 6 pads nothing
    assert all(len(p.a) == len(p.b) == 6 for p in problems)


def test_a_problem_is_mixed_when_an_operand_is_zero_padded():
    assert Problem("0045", "3897").is_mixed and Problem("3897", "0045").is_mixed
    assert not Problem("1045", "3897").is_mixed and not Problem("0", "7").is_mixed
    assert not any(p.is_mixed for p in task.sample(np.random.default_rng(4), 6, 500))


def test_the_addition_twin_is_the_swapped_problem():
    p = Problem("4587", "3897", 1)
    assert task.twin(p) == Problem("3897", "4587", 1)


@pytest.mark.parametrize("name", ["addition", "subtraction"])
def test_the_fast_parser_accepts_every_true_answer(name):
    skill, answers = get_task(name)
    rng = np.random.default_rng(0)
    for digits in (1, 2, 3, 5, 8, 23):
        for p in skill.sample(rng, digits, 3000, {"uniform": 0.5, "mixed": 0.5}):
            assert skill.parse_fast(skill.fast_target(answers.answer(p), p), p) == answers.answer(p)


def test_the_bound_catches_a_one_doubled_in_the_carry_out_run():
    p = Problem("0000124919100628804145", "1612986830443730248712", 1)  # = 1613111749544359052858
    assert task.parse_fast(task.fast_target(1613111749544359052858, p), p) == 1613111749544359052858
    assert plain.parse_fast("85825095344594711113161", p) is None  # a real self-label, one 1 too many
