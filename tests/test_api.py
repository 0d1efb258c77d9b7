"""The Python API: `from sector import ...`, the shipped reference model, `solve`, `evaluate`
and the registries through which a task, labeller or filter plugs in."""
import subprocess
import sys

import pytest

import sector
import sector.tasks
from sector import REFERENCE_MODEL, Config, RunError, evaluate, load_model, solve
from sector.tasks import Problem


@pytest.fixture(scope="module")
def reference():
    return load_model()


@pytest.mark.slow
def test_the_api_imports_in_a_fresh_interpreter(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "from sector import Config, run; print(Config().task)"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "addition\n"


def test_every_public_name_is_there():
    assert set(sector.__all__) == {
        "Config", "PRESETS", "preset", "run", "load_model", "prompt_format_of", "REFERENCE_MODEL", "solve", "evaluate", "Task", "Oracle",
        "Problem", "TASKS", "register_task", "get_task", "Labeller", "Filter", "Label", "LABELLERS", "FILTERS",
        "RunError"}
    assert all(hasattr(sector, name) for name in sector.__all__)


def test_a_model_reads_the_prompt_format_it_records(reference, tiny_checkpoint, tmp_path, monkeypatch):
    import sector.decoding as decoding
    from sector.model import build_model, save_model
    from test_labelling import scripted  # a stand-in decoder that answers right, in one format only

    assert sector.prompt_format_of(reference) == "columns" and sector.solve(reference, "4521+3897") == 8418
    assert sector.prompt_format_of(sector.load_model(tiny_checkpoint)) == "columns"
    plain = build_model("tiny", seed=0)
    plain.config.prompt_format = "plain"
    save_model(plain, tmp_path / "plain")
    monkeypatch.setattr(decoding, "greedy", scripted(writer=sector.get_task("addition", "plain")[0]))
    assert sector.solve(sector.load_model(tmp_path / "plain"), "4521+3897") == 8418
    with pytest.raises(RunError, match="records no prompt format"):
        sector.solve(build_model("tiny"), "1+2")


def test_the_reference_model_ships_inside_the_package():
    assert REFERENCE_MODEL.parent == __import__("pathlib").Path(sector.__file__).parent
    assert (REFERENCE_MODEL / "model.safetensors").is_file() and (REFERENCE_MODEL / "config.json").is_file()


def test_load_model_without_a_path_is_the_reference_model(reference):
    import torch

    explicit = load_model(REFERENCE_MODEL)
    assert all(torch.equal(a, b) for a, b in zip(reference.state_dict().values(), explicit.state_dict().values()))


@pytest.mark.slow
def test_the_reference_model_adds_long_carries_and_runs_of_zeros(reference):
    # FAST inside its strict frontier (17 digits) and on a carry through 20 nines; the chain of thought too.
    problems = ["5000000000+5000000000", "1000000000000+1", "9999999999999+1", "9090909090909+909090909091",
                "99999999999999999999+1"]
    assert solve(reference, problems) == [sum(map(int, p.split("+"))) for p in problems]
    assert solve(reference, "99999999999999999999+1", mode="slow") == 10**20


@pytest.mark.slow
def test_solve_answers_fast_and_by_the_slow_chain(reference):
    assert solve(reference, "4521+3897") == 8418
    assert solve(reference, "4521+3897", mode="slow") == 8418
    assert solve(reference, "4521+3897+1") == 8419


@pytest.mark.slow
def test_solve_takes_a_list_and_problems(reference):
    assert solve(reference, ["4521+3897", "12+34", Problem("7", "5")]) == [8418, 46, 12]
    assert solve(reference, Problem("4521", "3897", 1), task="addition") == 8419


def test_solve_refuses_a_malformed_problem(reference):
    with pytest.raises(ValueError):
        solve(reference, "12a+3")


@pytest.mark.slow
def test_evaluate_scores_fresh_problems_per_length(reference):
    rows = evaluate(reference, digits=range(1, 4), count=20, seed=0)
    assert [r["digits"] for r in rows] == [1, 2, 3]
    assert all(r["mode"] == "fast" and r["n"] == 20 and r["accuracy"] >= 0.9 for r in rows), rows
    assert all(r["correct"] == round(r["accuracy"] * r["n"]) for r in rows)
    assert all({"ci_low", "ci_high"} <= set(r) for r in rows)


@pytest.mark.slow
def test_evaluate_draws_by_its_seed(monkeypatch, reference):
    from sector.evaluate import Evaluator

    seen = []
    accuracy = Evaluator.accuracy
    monkeypatch.setattr(Evaluator, "accuracy",
                        lambda self, model, by_length, **kw: seen.append(by_length) or accuracy(self, model, by_length,
                                                                                                **kw))
    for seed in (0, 0, 1):
        evaluate(reference, digits=[4], count=5, seed=seed)
    assert seen[0] == seen[1] != seen[2]


@pytest.mark.slow
def test_evaluate_groups_given_problems_by_length(reference):
    problems = [Problem("12", "34"), Problem("1", "2"), Problem("99", "99", 1), Problem("123", "456")]
    rows = evaluate(reference, problems=problems, mode="slow")
    assert [(r["mode"], r["digits"], r["n"]) for r in rows] == [("slow", 1, 1), ("slow", 2, 2), ("slow", 3, 1)]


def test_a_registered_task_labeller_and_filter_are_valid_in_a_config(monkeypatch):
    from sector.tasks.arithmetic import Addition, AdditionOracle

    monkeypatch.setitem(sector.TASKS, "also-addition", (Addition, AdditionOracle))
    monkeypatch.setitem(sector.LABELLERS, "mine", sector.LABELLERS["fast"])
    monkeypatch.setitem(sector.FILTERS, "mine", sector.FILTERS["commutativity"])
    cfg = sector.preset("test", {"task": "also-addition", "rounds.labeller": "mine", "rounds.filters": ("mine",)})
    cfg.validate()
    task, oracle = sector.get_task("also-addition")
    assert oracle.answer(task.parse_problem("4521+3897")) == 8418


def test_register_task_makes_a_skill_available_by_name(monkeypatch):
    from sector.tasks.arithmetic import Subtraction, SubtractionOracle

    monkeypatch.setattr(sector.tasks, "TASKS", dict(sector.tasks.TASKS))  # leave the registry as it was
    sector.tasks.register_task("minus", Subtraction, SubtractionOracle)
    task, oracle = sector.tasks.get_task("minus")
    assert oracle.answer(task.parse_problem("4521-3897")) == 624
    cfg = Config(task="minus")
    with pytest.raises(ValueError, match="minus has no family carry_chain"):  # the default mixture is addition's
        cfg.validate()
    cfg.update({"mixture.families": {"uniform": 0.5, "borrow_chain": 0.5}})
    cfg.validate()
