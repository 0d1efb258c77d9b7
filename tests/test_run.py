"""A complete run of the `test` preset, and the CLI on its output."""
import json
import math
import shutil

import pytest

from sector.cli import build_parser, main
from sector.config import PRESETS, preset
from sector.rundir import load_model
from sector.tasks import get_task

REQUIRED = {"phase", "round", "mode", "digits", "n", "correct", "accuracy", "ci_low", "ci_high"}


def rows_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- the run directory -------------------------------------------------------------------------

@pytest.mark.slow
def test_run_writes_the_documented_directory(tiny_run):
    out, summary = tiny_run
    assert json.loads((out / "config.json").read_text())["preset"] == "test"
    rows = rows_of(out / "metrics.jsonl")
    assert all(REQUIRED <= set(r) for r in rows)
    # Evaluations are timed as a whole: the phase-1 evaluation's progress row, a round's eval_s.
    progress = rows_of(out / "progress.jsonl")
    assert [p["wall_s"] > 0 for p in progress if p["unit"] == "phase1-eval"] == [True]
    assert all(p["eval_s"] > 0 for p in progress if p["unit"] == "round")
    assert {r["round"] for r in rows if r["phase"] == "phase1"} == {0}
    assert {r["round"] for r in rows if r["phase"] == "self"} == {1, 2}
    modes = {r["mode"] for r in rows}
    assert {"fast", "slow", "label_fast", "label_slow", "label_sng", "label_accepted"} <= modes
    for r in rows:
        assert r["ci_low"] <= r["accuracy"] <= r["ci_high"]
        assert r["correct"] == round(r["accuracy"] * r["n"])
    s = json.loads((out / "summary.json").read_text())
    assert {"frontier", "rounds", "wall_s", "stop_reason"} <= set(s) and s["rounds"] == 2
    assert s == summary
    assert "max_rounds" in s["stop_reason"]
    for r in (1, 2):
        assert (out / f"checkpoints/round_{r:03d}/model.safetensors").exists()
        labels = rows_of(out / f"labels/round_{r:03d}.jsonl")
        assert len(labels) == 8 and {"problem", "label", "candidates", "accepted", "reason"} <= set(labels[0])
    load_model(out)  # the latest checkpoint loads


@pytest.mark.slow
def test_the_summary_records_its_provenance(tiny_run):
    from datetime import datetime

    import torch

    prov = json.loads((tiny_run[0] / "summary.json").read_text())["provenance"]
    assert {"command", "commit", "date", "machine", "versions"} <= set(prov)
    assert isinstance(prov["command"], str) and prov["command"]
    assert prov["commit"] is None or (isinstance(prov["commit"], str) and len(prov["commit"].split("-")[0]) == 40)
    assert datetime.fromisoformat(prov["date"]).tzinfo is not None  # an aware timestamp, UTC
    assert isinstance(prov["machine"]["cores"], int) and prov["machine"]["cores"] >= 1
    assert {"cpu", "platform", "gpu"} <= set(prov["machine"])
    assert prov["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert prov["versions"]["torch"] == torch.__version__
    assert {"sector", "python", "transformers", "safetensors", "numpy"} <= set(prov["versions"])


def test_provenance_is_read_when_the_run_opens(tmp_path, monkeypatch):
    import sector.experiment as experiment

    monkeypatch.setattr(experiment, "git_commit", lambda: "a" * 40)
    exp, _ = experiment.open_experiment(preset("test"), tmp_path / "run", resume=False, changes={}, log=lambda _: None)
    exp.save("opened")
    monkeypatch.setattr(experiment, "git_commit", lambda: "b" * 40)  # a commit made while the run goes on
    summary = exp.finish("test")
    exp.close()
    assert summary["provenance"]["commit"] == "a" * 40
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["provenance"]["commit"] == "a" * 40


@pytest.mark.slow
def test_the_run_anneals_once_after_its_last_round(tiny_run):
    out, _ = tiny_run
    progress = rows_of(out / "progress.jsonl")
    assert [p["unit"] for p in progress][-3:] == ["round", "round", "anneal"]
    anneal = progress[-1]
    assert anneal["steps"] == preset("test").anneal.steps
    assert anneal["agreement_before"].keys() == anneal["agreement_after"].keys()
    state = json.loads((out / "state.json").read_text())
    assert state["checkpoint"] == "annealed" and state["annealed"]


@pytest.mark.slow
def test_self_labels_and_training_data_load_as_datasets(tiny_run):
    import datasets
    out, _ = tiny_run
    labels = datasets.load_dataset("json", data_files=str(out / "labels/round_001.jsonl"), split="train")
    assert len(labels) == 8 and {"problem", "label", "candidates", "accepted", "reason"} <= set(labels.column_names)
    assert "truth" not in labels.column_names
    data = datasets.load_dataset("json", data_files=str(out / "data/phase1_len02.jsonl"), split="train")
    assert data.column_names == ["prompt", "target"] and len(data) == 400


@pytest.mark.slow
def test_report_and_tensorboard_are_written(tiny_run):
    out, _ = tiny_run
    for name in ("report.md", "accuracy_heatmap.png", "label_error.png", "acceptance.png",
                 "time_per_round.png", "frontier.png"):
        assert (out / "report" / name).stat().st_size > 0, name
    report = (out / "report/report.md").read_text()
    assert "Annealed (2 steps" in report
    final = [r for r in rows_of(out / "metrics.jsonl") if r["phase"] == "final" and r["mode"] == "fast"]
    suites = {r["suite"] for r in final}
    assert suites == set(get_task("addition")[0].families)  # the final evaluation scores every suite
    for d in {r["digits"] for r in final}:  # one table row a length, one cell a suite
        cells = [f"{r['accuracy']:.3f} ({r['ci_low']:.3f}-{r['ci_high']:.3f})" for r in final if r["digits"] == d]
        assert any(line.startswith(f"| {d} | ") and all(c in line for c in cells) for line in report.splitlines())
    assert (out / "report" / "suites.png").stat().st_size > 0
    assert any((out / "tb").glob("events.out.tfevents.*"))


# -- `sector add` and `sector eval` ------------------------------------------------------------

@pytest.mark.slow
def test_add_prints_a_trace(tiny_checkpoint, capsys):
    assert main(["add", "4521", "3897", "--checkpoint", str(tiny_checkpoint)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "problem     4521+3897"
    assert lines[1].startswith("FAST        ")
    # the chain's first step, emitted or malformed (an untrained model), then the guesses after k steps
    assert any(line.startswith(("  step 1: emit ", "  step 1: malformed")) for line in lines)
    assert [line.split(":")[0].strip() for line in lines if line.strip().startswith("k=")] == ["k=1", "k=2", "k=3"]
    assert any(line.startswith("vote        ") for line in lines)
    assert lines[-1].startswith("self-label  ")


@pytest.mark.slow
def test_add_answers_from_the_reference_model_in_any_directory(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "sector", "add", "4521", "3897"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["problem     4521+3897", "FAST        8418"]
    assert "self-label  accepted" in lines


def test_add_gives_the_loops_verdict(capsys, monkeypatch):
    import sector.decoding as decoding
    from test_labelling import scripted  # a stand-in decoder that answers right

    monkeypatch.setattr(decoding, "greedy", scripted())
    assert main(["add", "4521", "3897"]) == 0  # the reference model, judged by the default preset's filters
    text = capsys.readouterr().out
    assert "vote        8418 (3 of 3 candidates); twin 3897+4521: 8418" in text
    assert "self-label  accepted" in text


def test_add_judges_and_decodes_as_the_checkpoints_run(tiny_checkpoint, capsys, monkeypatch, tmp_path):
    import sector.decoding as decoding
    from test_labelling import scripted

    run = tmp_path / "run"
    shutil.copytree(tiny_checkpoint, run / "checkpoints" / "annealed")
    cfg = preset("test", {"rounds.filters": (), "compute.decode_precision": "bf16", "rounds.sng_k": 3})
    (run / "config.json").write_text(json.dumps(cfg.to_dict()))
    answer, precisions = scripted(), []
    monkeypatch.setattr(decoding, "greedy", lambda *a, **kw: precisions.append(kw["bf16"]) or answer(*a, **kw))
    checkpoint = str(run / "checkpoints" / "annealed")
    assert main(["add", "452131", "389762", "--checkpoint", checkpoint]) == 0
    out = capsys.readouterr().out
    assert "twin 389762+452131: (not asked)" in out  # its run had no filters
    assert "of 3 candidates" in out and "k=3:" in out and "k=4:" not in out  # its run's K
    assert precisions and all(precisions)  # the trace shown and the vote alike: the candidates voted on
    assert main(["add", "452131", "389762", "--checkpoint", checkpoint, "--k", "4"]) == 0
    assert "of 4 candidates" in capsys.readouterr().out
    (run / "config.json").write_text(json.dumps({**cfg.to_dict(), "rounds": {"sng_k": "five"}}))
    assert main(["add", "452131", "389762", "--checkpoint", checkpoint]) == 2
    assert "config.json does not load" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_writes_per_length_json(tiny_checkpoint, tmp_path):
    problems = tmp_path / "p.txt"
    problems.write_text("12+34\n99+99+1\n123+456\n5+5\n")
    target = tmp_path / "acc.json"
    assert main(["eval", str(tiny_checkpoint), "--problems", str(problems), "--json", str(target)]) == 0
    table = json.loads(target.read_text())["per_length"]
    assert [r["digits"] for r in table] == [1, 2, 3] and [r["n"] for r in table] == [1, 2, 1]
    assert all({"digits", "n", "correct", "accuracy", "ci_low", "ci_high"} <= set(r) for r in table)


@pytest.mark.slow
def test_eval_defaults_to_the_reference_model(tmp_path, capsys):
    target = tmp_path / "acc.json"
    assert main(["eval", "--digits", "3", "--count", "10", "--json", str(target)]) == 0
    table = json.loads(target.read_text())["per_length"]
    suites = get_task("addition")[0].families  # every suite by default
    assert [(r["suite"], r["digits"], r["n"]) for r in table] == [(s, d, 10) for s in suites for d in (1, 2, 3)]
    assert all(r["accuracy"] >= 0.9 for r in table), table  # an untrained model would score about 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 * len(suites) + 1 and out[-1].startswith("frontier 3, strict frontier ")


@pytest.mark.slow
def test_eval_scores_mixed_lengths_and_other_tasks(tiny_checkpoint, tmp_path):
    target = tmp_path / "acc.json"
    assert main(["eval", str(tiny_checkpoint), "--suite", "mixed", "--digits", "3", "--count", "5", "--json", str(target)]) == 0
    assert [r["n"] for r in json.loads(target.read_text())["per_length"]] == [5, 5, 5]
    problems = tmp_path / "p.txt"
    problems.write_text("12-3\n99-99\n")
    assert main(["eval", str(tiny_checkpoint), "--task", "subtraction", "--problems", str(problems),
                 "--json", str(target)]) == 0
    assert [r["n"] for r in json.loads(target.read_text())["per_length"]] == [2]


# -- the Wilson interval -----------------------------------------------------------------------

@pytest.mark.parametrize("correct, n", [
    (0, 1), (0, 10), (3, 10), (10, 10), (98, 100), (1, 1000), (517, 1000),
    (0, 11), (100, 100),
])
def test_wilson_interval_contains_the_rate_within_0_and_1(correct, n):
    from sector.evaluate import wilson

    lo, hi = wilson(correct, n)
    assert 0.0 <= lo <= correct / n <= hi <= 1.0
    assert lo < hi


def test_wilson_interval_matches_the_formula():
    from sector.evaluate import wilson

    # Wilson (1927), z = 1.96, worked independently: 98 of 100 -> centre 0.9624, half-width 0.0297
    z, n, p = 1.96, 100, 0.98
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert wilson(98, 100) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert wilson(98, 100) == pytest.approx((0.92999, 0.99450), abs=1e-5)
    assert wilson(0, 10) == pytest.approx((0.0, 0.27754), abs=1e-5)  # 0 of 10: up to z^2/(n + z^2)
    assert wilson(10, 10) == pytest.approx((0.72246, 1.0), abs=1e-5)


def test_wilson_interval_narrows_as_the_sample_grows():
    from sector.evaluate import wilson

    widths = [hi - lo for lo, hi in (wilson(n // 2, n) for n in (10, 100, 1000, 10000))]
    assert widths == sorted(widths, reverse=True) and widths[-1] < 0.02
    assert wilson(0, 0) == (0.0, 1.0)  # no sample: no information


# -- runs from other starting points ---------------------------------------------------------

@pytest.mark.slow
def test_run_starts_from_a_pretrained_directory(tmp_path):
    from sector.method import run
    from sector.model import build_model, save_model

    pretrained = tmp_path / "pretrained"
    base = build_model("tiny", seed=7, d_ff=48, num_heads=4)  # not the tiny preset's shape (d_ff 64, 2 heads)
    save_model(base, pretrained)
    summary = run(preset("test", {"model.name": str(pretrained), "rounds.max_rounds": 1}), str(tmp_path / "run"),
                  log=lambda _: None)
    assert summary["rounds"] == 1
    start = load_model(tmp_path / "run" / "checkpoints" / "phase1-001")
    # the run trained the loaded architecture ...
    assert (start.config.d_ff, start.config.num_heads) == (48, 4) != (build_model("tiny").config.d_ff, 2)
    # ... from the loaded weights: after one stage of training they moved, but not far
    moved = [(start.state_dict()[k] - v).abs().max().item() for k, v in base.state_dict().items()]
    assert 0 < max(moved) < 0.1


@pytest.mark.slow
def test_a_run_directory_serves_as_a_pretrained_model(tiny_run):
    import torch

    from sector.experiment import init_model

    model, latest = init_model(preset("test", {"model.name": str(tiny_run[0])})), load_model(tiny_run[0])
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), latest.state_dict().values()))


@pytest.mark.slow
def test_resume_can_extend_a_finished_run(tiny_run, tmp_path):
    from sector.method import run

    out = tmp_path / "extended"
    shutil.copytree(tiny_run[0], out)
    (out / "summary.json").unlink()
    summary = run(None, str(out), resume=True, changes={"rounds.max_rounds": 3}, log=lambda _: None)
    assert summary["rounds"] == 3
    rows = rows_of(out / "metrics.jsonl")
    assert {r["round"] for r in rows if r["phase"] == "self"} == {1, 2, 3}
    final = [(r["suite"], r["mode"], r["digits"]) for r in rows if r["phase"] == "final"]
    assert len(final) == len(set(final))  # the first run's final evaluation was dropped, not kept beside the new one
    units = [p["unit"] for p in rows_of(out / "progress.jsonl")]
    assert units[-4:] == ["round", "anneal", "round", "anneal"]  # the model is annealed after its new last round


@pytest.mark.slow
def test_a_resumed_run_keeps_the_pace_its_time_budget_is_checked_at(tiny_run, tmp_path):
    from sector.method import run

    out = tmp_path / "paced"
    shutil.copytree(tiny_run[0], out)
    (out / "summary.json").unlink()
    state = json.loads((out / "state.json").read_text())
    last = [p for p in rows_of(out / "progress.jsonl") if p["unit"] == "round"][-1]
    assert state["last_round_s"] == pytest.approx(last["label_s"] + last["train_s"] + last["check_s"] + last["eval_s"])
    # Rounds an hour long, and half an hour of budget left: the resumed run starts none.
    state["last_round_s"] = 3600.0
    (out / "state.json").write_text(json.dumps(state))
    budget = (state["wall_s"] + 1800) / 60
    summary = run(None, str(out), resume=True, changes={"rounds.max_rounds": 3, "rounds.time_budget_min": budget},
                  log=lambda _: None)
    assert summary["rounds"] == 2 and "time budget" in summary["stop_reason"]


def test_progress_bars_stay_silent_when_nobody_watches():
    from sector.progress import bar

    assert bar(10, "x").disable  # pytest's stderr is not a terminal, nor is CI's or nohup's


# -- `sector run` flags ----------------------------------------------------------------------

def test_time_budget_takes_minutes_with_a_fraction():
    assert build_parser().parse_args(["run", "--time-budget", "12.5"]).time_budget == 12.5
    assert build_parser().parse_args(["run", "--time-budget", "0"]).time_budget == 0.0  # no budget
    assert build_parser().parse_args(["config", "--time-budget", "1e1"]).time_budget == 10.0


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-1", "-0.5", "soon", ""])
def test_time_budget_refuses_what_is_not_a_finite_count_of_minutes(capsys, value):
    assert main(["config", f"--time-budget={value}"]) == 2  # with "=", "-inf" reaches the type, not the parser
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("sector: error:")
    assert "--time-budget must be" in captured.err and "Traceback" not in captured.err


@pytest.mark.slow
def test_set_is_written_to_the_run_config(tmp_path):
    out = tmp_path / "r"
    assert main(["run", "--preset", "test", "--max-rounds", "0", "--out", str(out),
                 "--set", "rounds.problems=6", "--set", "train.lr=0.002"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["rounds"]["problems"] == 6 and cfg["train"]["lr"] == 0.002 and cfg["train"]["batch_size"] == 8
    assert cfg["rounds"]["max_rounds"] == 0


@pytest.mark.slow
def test_auto_precision_is_probed_once_recorded_and_decodes_the_labels_not_the_evaluation(tmp_path, monkeypatch):
    from sector import decoding, experiment, method

    probes, bf16_calls, in_bf16 = [], [], decoding.in_bf16
    monkeypatch.setattr(experiment, "faster_precision", lambda device: probes.append(device) or "bf16")
    monkeypatch.setattr(decoding, "in_bf16", lambda model: bf16_calls.append(1) or in_bf16(model))
    evaluated, accuracy = [], experiment.Evaluator.accuracy
    monkeypatch.setattr(experiment.Evaluator, "accuracy",
                        lambda self, *a, **kw: evaluated.append(self.decode_kw) or accuracy(self, *a, **kw))
    cfg = preset("test", {"rounds.max_rounds": 1, "compute.decode_precision": "auto",
                          "compute.train_precision": "auto"})
    method.run(cfg, str(tmp_path / "run"), log=lambda _: None)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["compute"]["decode_precision"], config["compute"]["train_precision"], probes) == \
        ("bf16", "bf16", ["cpu"])
    assert bf16_calls and evaluated and not any(kw.get("bf16") for kw in evaluated)


# -- resuming --------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_resumed_run_takes_new_limits_and_compute_settings_and_records_them(tiny_run, tmp_path, monkeypatch):
    from sector import method

    out = tmp_path / "moved"
    shutil.copytree(tiny_run[0], out)
    batch_sizes = []
    real = method.mixed_batches
    monkeypatch.setattr(method, "mixed_batches",
                        lambda pools, size, *a: batch_sizes.append(size) or real(pools, size, *a))
    method.run(None, str(out), resume=True, log=lambda _: None,
               changes={"rounds.max_rounds": 3, "train.batch_size": 5, "compute.decode_batch": 7,
                        "compute.device": "cpu"})
    assert batch_sizes and set(batch_sizes) == {5}  # the new round and the anneal train at the new batch
    config = json.loads((out / "config.json").read_text())
    assert (config["rounds"]["max_rounds"], config["train"]["batch_size"], config["compute"]["decode_batch"]) == \
        (3, 5, 7)
    state = json.loads((out / "state.json").read_text())
    before = json.loads((tiny_run[0] / "config.json").read_text())
    assert state["resumed_with"] == [{"round": 2, "changed": {
        "rounds.max_rounds": [before["rounds"]["max_rounds"], 3],
        "train.batch_size": [before["train"]["batch_size"], 5],
        "compute.decode_batch": [before["compute"]["decode_batch"], 7],
        "compute.device": [before["compute"]["device"], "cpu"]}}]
    assert state["round"] == 3
    assert "Resumed after round 2 with rounds.max_rounds" in (out / "report" / "report.md").read_text()
    # A resume with nothing left to train still records its change.
    method.run(None, str(out), resume=True, log=lambda _: None, changes={"compute.decode_batch": 9})
    state = json.loads((out / "state.json").read_text())
    assert state["resumed_with"][-1] == {"round": 3, "changed": {"compute.decode_batch": [7, 9]}}


def test_a_resumed_run_keeps_its_data_model_and_rules(tmp_path):
    from sector.method import run
    from sector.rundir import RunDir, RunError

    out = tmp_path / "run"
    RunDir.create(out, preset("test").to_dict())  # all that a resume reads before it loads anything
    for key, value in (("seed", 1), ("rounds.problems", 5), ("train.lr", 0.1), ("model.name", "scratch"),
                       ("task", "subtraction"), ("mixture.families", {"uniform": 0.5, "mixed": 0.5})):
        with pytest.raises(RunError, match=f"cannot change {key}"):
            run(None, str(out), resume=True, changes={key: value}, log=lambda _: None)
    with pytest.raises(RunError, match="train.batch_size must be >= 1"):
        run(None, str(out), resume=True, changes={"train.batch_size": 0}, log=lambda _: None)
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]  # nothing written


def test_a_resumed_run_goes_on_with_its_recorded_config_not_the_presets(tmp_path):
    from sector.experiment import resumed_config
    from sector.rundir import RunDir

    recorded = preset("test", {"rounds.agreement": 0.9, "mixture.replay_pad_ahead": 1})
    RunDir.create(tmp_path / "run", recorded.to_dict())
    cfg, changed = resumed_config(tmp_path / "run", {})
    assert cfg == recorded and changed == {}
    cfg, changed = resumed_config(tmp_path / "run", {"rounds.max_rounds": 5})
    assert changed == {"rounds.max_rounds": [2, 5]} and cfg.rounds.agreement == 0.9


# -- presets on the command line -------------------------------------------------------------

def test_preset_help_names_every_preset():
    for command in ("run", "config"):
        parser = build_parser()._subparsers._group_actions[0].choices[command]
        help_ = next(a.help for a in parser._actions if "--preset" in a.option_strings)
        assert set(help_.split(" (")[0].split(" | ")) == set(PRESETS), command


def test_a_task_with_its_own_preset_starts_from_it(monkeypatch, capsys):
    import sector.method

    seen = []
    monkeypatch.setattr(sector.method, "run", lambda cfg, out, **kw: seen.append((cfg, out)) or {})
    assert main(["run", "--task", "subtraction"]) == 0
    assert main(["run", "--task", "subtraction", "--preset", "smoke"]) == 0
    assert main(["run", "--task", "addition"]) == 0
    (sub, sub_out), (smoke, _), (add, _) = seen
    assert (sub.preset, sub.rounds.labeller, sub.phase1.digits, sub_out) == ("subtraction", "chain", 3,
                                                                             "runs/subtraction")
    assert (smoke.preset, smoke.task) == ("smoke", "subtraction")
    assert (add.preset, add.task) == ("default", "addition")


def test_run_prints_its_summary_on_rank_0_only(monkeypatch, capsys):
    import sector.method

    monkeypatch.setattr(sector.method, "run", lambda cfg, out, **kw: {"frontier": 7})
    monkeypatch.setenv("RANK", "0")
    assert main(["run", "--preset", "test"]) == 0
    assert json.loads(capsys.readouterr().out) == {"frontier": 7}
    monkeypatch.setenv("RANK", "1")
    assert main(["run", "--preset", "test"]) == 0
    assert capsys.readouterr().out == ""
