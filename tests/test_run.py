"""A complete run of the `test` preset, and the CLI on its output."""
import json

import pytest

from sector.cli import build_parser, main
from sector.config import PRESETS, Config, parse_setting, preset
from sector.rundir import load_checkpoint
from sector.tasks import TASKS

REQUIRED = {"phase", "round", "mode", "digits", "n", "correct", "accuracy", "ci_low", "ci_high"}


def test_run_writes_the_documented_directory(tiny_run):
    out, summary = tiny_run
    assert json.loads((out / "config.json").read_text())["preset"] == "test"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(REQUIRED <= set(r) for r in rows)
    # Evaluations are timed as a whole: the phase-1 evaluation's progress row, a round's eval_s.
    progress = [json.loads(line) for line in (out / "progress.jsonl").read_text().splitlines()]
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
        labels = [json.loads(x) for x in (out / f"labels/round_{r:03d}.jsonl").read_text().splitlines()]
        assert len(labels) == 8 and {"problem", "label", "candidates", "accepted", "reason"} <= set(labels[0])
    load_checkpoint(out)  # the latest checkpoint loads


def test_the_run_anneals_once_after_its_last_round(tiny_run):
    out, _ = tiny_run
    progress = [json.loads(line) for line in (out / "progress.jsonl").read_text().splitlines()]
    assert [p["unit"] for p in progress][-3:] == ["round", "round", "anneal"]
    anneal = progress[-1]
    assert anneal["steps"] == preset("test").anneal_steps and anneal["agreement_before"].keys() == anneal["agreement_after"].keys()
    state = json.loads((out / "state.json").read_text())
    assert state["checkpoint"] == "annealed" and state["annealed"]


def test_add_prints_a_trace(tiny_run, capsys):
    out, _ = tiny_run
    assert main(["add", "4521", "3897", "--checkpoint", str(out)]) == 0
    text = capsys.readouterr().out
    assert "FAST" in text and "step 1" in text or "malformed" in text
    assert "k=1" in text and "vote" in text


def test_add_gives_the_loops_verdict(tiny_run, capsys, monkeypatch):
    import sector.decoding as decoding
    from test_labelling import scripted  # a stand-in decoder that answers right

    monkeypatch.setattr(decoding, "greedy", scripted())
    assert main(["add", "4521", "3897", "--checkpoint", str(tiny_run[0])]) == 0
    text = capsys.readouterr().out
    assert "vote        8418 (3 of 3 candidates); twin 3897+4521: 8418" in text
    assert "self-label  accepted" in text


def test_add_judges_by_the_filters_of_the_checkpoints_run(tiny_run, capsys, monkeypatch, tmp_path):
    import shutil

    import sector.decoding as decoding
    from test_labelling import scripted

    run = tmp_path / "run"
    shutil.copytree(tiny_run[0] / "checkpoints" / "annealed", run / "checkpoints" / "annealed")
    config = json.loads((tiny_run[0] / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "filters": []}))
    monkeypatch.setattr(decoding, "greedy", scripted())
    assert main(["add", "4521", "3897", "--checkpoint", str(run / "checkpoints" / "annealed")]) == 0
    assert "twin 3897+4521: (not asked)" in capsys.readouterr().out

def test_eval_writes_per_length_json(tiny_run, tmp_path):
    out, _ = tiny_run
    problems = tmp_path / "p.txt"
    problems.write_text("12+34\n99+99+1\n123+456\n5+5\n")
    target = tmp_path / "acc.json"
    assert main(["eval", str(out), "--problems", str(problems), "--json", str(target)]) == 0
    table = json.loads(target.read_text())["per_length"]
    assert [r["digits"] for r in table] == [1, 2, 3] and [r["n"] for r in table] == [1, 2, 1]
    assert all({"digits", "n", "correct", "accuracy", "ci_low", "ci_high"} <= set(r) for r in table)


def test_eval_scores_mixed_lengths_and_other_tasks(tiny_run, tmp_path):
    out, _ = tiny_run
    target = tmp_path / "acc.json"
    assert main(["eval", str(out), "--mixed", "--digits", "3", "--count", "5", "--json", str(target)]) == 0
    assert [r["n"] for r in json.loads(target.read_text())["per_length"]] == [5, 5, 5]
    problems = tmp_path / "p.txt"
    problems.write_text("12-3\n99-99\n")
    assert main(["eval", str(out), "--task", "subtraction", "--problems", str(problems), "--json", str(target)]) == 0
    assert [r["n"] for r in json.loads(target.read_text())["per_length"]] == [2]


def test_wilson_interval_is_sane():
    from sector.evaluate import wilson
    lo, hi = wilson(98, 100)
    assert 0.92 < lo < 0.98 < hi < 1.0
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def test_self_labels_and_training_data_load_as_datasets(tiny_run):
    import datasets
    out, _ = tiny_run
    labels = datasets.load_dataset("json", data_files=str(out / "labels/round_001.jsonl"), split="train")
    assert len(labels) == 8 and {"problem", "label", "candidates", "accepted", "reason"} <= set(labels.column_names)
    assert "truth" not in labels.column_names
    data = datasets.load_dataset("json", data_files=str(out / "data/phase1_len02.jsonl"), split="train")
    assert data.column_names == ["prompt", "target"] and len(data) == 400


def test_report_and_tensorboard_are_written(tiny_run):
    out, _ = tiny_run
    for name in ("report.md", "accuracy_heatmap.png", "label_error.png", "acceptance.png",
                 "time_per_round.png", "frontier.png"):
        assert (out / "report" / name).stat().st_size > 0, name
    report = (out / "report/report.md").read_text()
    assert "Annealed (2 steps" in report
    final = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    final = [r for r in final if r["phase"] == "final" and r["mode"] == "fast"]
    assert final and all(f"| {r['digits']} | {r['accuracy']:.3f} |" in report for r in final)
    assert any((out / "tb").glob("events.out.tfevents.*"))


def test_run_starts_from_a_pretrained_directory(tmp_path):
    from sector.loop import run
    from sector.model import build_model, save_model

    pretrained = tmp_path / "pretrained"
    base = build_model("tiny", seed=7)
    save_model(base, pretrained)
    summary = run(preset("test", model=str(pretrained), max_rounds=1), str(tmp_path / "run"), log=lambda _: None)
    assert summary["rounds"] == 1
    start = load_checkpoint(tmp_path / "run" / "checkpoints" / "phase1-001")
    assert start.config.d_model == base.config.d_model  # the run trained the loaded architecture


def test_a_run_directory_serves_as_a_pretrained_model(tiny_run):
    import torch

    from sector.loop import init_model

    model, latest = init_model(preset("test", model=str(tiny_run[0]))), load_checkpoint(tiny_run[0])
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), latest.state_dict().values()))


def test_resume_can_extend_a_finished_run(tiny_run, tmp_path):
    import shutil

    from sector.loop import run

    out = tmp_path / "extended"
    shutil.copytree(tiny_run[0], out)
    (out / "summary.json").unlink()
    summary = run(None, str(out), resume=True, changes={"max_rounds": 3}, log=lambda _: None)
    assert summary["rounds"] == 3
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {r["round"] for r in rows if r["phase"] == "self"} == {1, 2, 3}
    assert sum(r["phase"] == "final" for r in rows) == len({r["digits"] for r in rows if r["phase"] == "final"})
    units = [json.loads(line)["unit"] for line in (out / "progress.jsonl").read_text().splitlines()]
    assert units[-4:] == ["round", "anneal", "round", "anneal"]  # the model is annealed after its new last round


def test_progress_bars_stay_silent_when_nobody_watches():
    from sector.progress import bar

    assert bar(10, "x").disable  # pytest's stderr is not a terminal, nor is CI's or nohup's


def test_set_overrides_reach_the_run_config():
    assert parse_setting("round_max_steps=2000") == ("round_max_steps", 2000)
    assert parse_setting("train.lr=3e-3") == ("train.lr", 3e-3)
    assert parse_setting("round_agreement=1") == ("round_agreement", 1)
    assert parse_setting('filters=[]') == ("filters", ())
    assert parse_setting("labeller=fast") == ("labeller", "fast")
    assert parse_setting("train.precision=fp32") == ("train.precision", "fp32")
    assert parse_setting("time_budget_min=0.5") == ("time_budget_min", 0.5)  # a float field, whatever its default
    for bad in ("round_max_steps=2.5", "round_max_steps=true", "labeller=3", "filters=x"):
        with pytest.raises(ValueError, match="expected"):
            parse_setting(bad)



def test_time_budget_takes_minutes_with_a_fraction():
    assert build_parser().parse_args(["run", "--time-budget", "12.5"]).time_budget == 12.5


def test_gpu_preset_is_the_default_preset_on_cuda():
    gpu, default = preset("gpu").to_dict(), preset("default").to_dict()
    differs = {k for k in gpu if gpu[k] != default[k]}
    assert differs == {"preset", "device", "decode_batch", "train"}
    assert gpu["device"] == "cuda" and gpu["train"]["batch_size"] > default["train"]["batch_size"]

def test_set_is_written_to_the_run_config(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--preset", "test", "--max-rounds", "0", "--out", str(out),
                 "--set", "round_problems=6", "--set", "train.lr=0.002"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["round_problems"] == 6 and cfg["train"]["lr"] == 0.002 and cfg["train"]["batch_size"] == 8


def test_auto_precision_is_probed_once_recorded_and_decodes_the_labels_not_the_evaluation(tmp_path, monkeypatch):
    from sector import decoding, loop

    probes, bf16_calls, in_bf16 = [], [], decoding.in_bf16
    monkeypatch.setattr(loop, "faster_precision", lambda device: probes.append(device) or "bf16")
    monkeypatch.setattr(decoding, "in_bf16", lambda model: bf16_calls.append(1) or in_bf16(model))
    evaluated, accuracy = [], loop.Evaluator.accuracy
    monkeypatch.setattr(loop.Evaluator, "accuracy",
                        lambda self, *a, **kw: evaluated.append(self.decode_kw) or accuracy(self, *a, **kw))
    cfg = preset("test", max_rounds=1, decode_precision="auto", train=dict(precision="auto"))
    loop.run(cfg, str(tmp_path / "run"), log=lambda _: None)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["decode_precision"], config["train"]["precision"], probes) == ("bf16", "bf16", ["cpu"])
    assert bf16_calls and evaluated and not any(kw.get("bf16") for kw in evaluated)


def test_configs_of_older_runs_load_and_unknown_train_keys_are_named():
    old = preset("test").to_dict()
    old["train"].pop("precision")
    old["train"]["bf16"] = True  # how runs recorded precision before train.precision
    assert Config.from_dict(old).train.precision == "bf16"
    del old["decode_precision"], old["bridge_steps"]
    assert (Config.from_saved(old).decode_precision, Config.from_saved(old).bridge_steps) == ("fp32", 0)
    old["decode_bf16"] = True  # how runs recorded it before decode_precision
    assert Config.from_saved(old).decode_precision == "bf16"
    old["train"]["nope"] = 1
    with pytest.raises(ValueError, match="unknown train config keys: nope"):
        Config.from_dict(old)


def test_a_resumed_run_takes_new_limits_and_compute_settings_and_records_them(tiny_run, tmp_path, monkeypatch):
    import shutil

    from sector import loop

    out = tmp_path / "moved"
    shutil.copytree(tiny_run[0], out)
    batch_sizes = []
    real = loop.mixed_batches
    monkeypatch.setattr(loop, "mixed_batches", lambda pools, size, *a: batch_sizes.append(size) or real(pools, size, *a))
    loop.run(None, str(out), resume=True, log=lambda _: None,
             changes={"max_rounds": 3, "train.batch_size": 5, "decode_batch": 7, "device": "cpu"})
    assert batch_sizes and set(batch_sizes) == {5}  # the new round and the anneal train at the new batch
    config = json.loads((out / "config.json").read_text())
    assert (config["max_rounds"], config["train"]["batch_size"], config["decode_batch"]) == (3, 5, 7)
    state = json.loads((out / "state.json").read_text())
    before = json.loads((tiny_run[0] / "config.json").read_text())
    assert state["resumed_with"] == [{"round": 2, "changed": {
        "max_rounds": [before["max_rounds"], 3], "train.batch_size": [before["train"]["batch_size"], 5],
        "decode_batch": [before["decode_batch"], 7], "device": [before["device"], "cpu"]}}]
    assert state["round"] == 3
    assert "Resumed after round 2 with max_rounds" in (out / "report" / "report.md").read_text()
    # A resume with nothing left to train still records its change.
    loop.run(None, str(out), resume=True, log=lambda _: None, changes={"decode_batch": 9})
    state = json.loads((out / "state.json").read_text())
    assert state["resumed_with"][-1] == {"round": 3, "changed": {"decode_batch": [7, 9]}}


def test_a_resumed_run_keeps_its_data_model_and_rules(tiny_run):
    from sector.loop import run
    from sector.rundir import RunError

    for key, value in (("seed", 1), ("round_problems", 5), ("train.lr", 0.1)):
        with pytest.raises(RunError, match=key):
            run(None, str(tiny_run[0]), resume=True, changes={key: value}, log=lambda _: None)
    with pytest.raises(RunError, match="batch_size"):
        run(None, str(tiny_run[0]), resume=True, changes={"train.batch_size": 0}, log=lambda _: None)


def test_a_resumed_run_keeps_the_round_data_it_began_with():
    saved = preset("default").to_dict()
    older = ("copy_repeat", "copy_min_share", "copy_problems", "replay_pad_ahead", "check_supervised", "anneal_steps")
    for key in older:  # runs made before these
        saved.pop(key)
    cfg = Config.from_saved(saved)
    assert [getattr(cfg, key) for key in older] == [0.0, 0.0, 0.0, 0, False, 0]
    saved = {**preset("default").to_dict(), "round_agreement": 0.9}
    saved.pop("earlier_agreement")  # before session 17 every length was held to round_agreement
    assert Config.from_saved(saved).earlier_agreement == 0.9
    assert Config.from_saved(preset("default").to_dict()) == preset("default")  # recorded values win


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_config_of_a_known_task(name):
    cfg = preset(name)
    cfg.validate()
    assert cfg.preset == name and cfg.task in TASKS


def test_preset_help_names_every_preset():
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    help_ = next(a.help for a in run._actions if "--preset" in a.option_strings)
    assert set(help_.split(" (")[0].split(" | ")) == set(PRESETS)


def test_a_task_with_its_own_preset_starts_from_it(monkeypatch, capsys):
    import sector.loop

    seen = []
    monkeypatch.setattr(sector.loop, "run", lambda cfg, out, **kw: seen.append((cfg, out)) or {})
    assert main(["run", "--task", "subtraction"]) == 0
    assert main(["run", "--task", "subtraction", "--preset", "smoke"]) == 0
    assert main(["run", "--task", "addition"]) == 0
    (sub, sub_out), (smoke, _), (add, _) = seen
    assert (sub.preset, sub.labeller, sub.supervised_digits, sub_out) == ("subtraction", "chain", 3, "runs/subtraction")
    assert (smoke.preset, smoke.task) == ("smoke", "subtraction")
    assert (add.preset, add.task) == ("default", "addition")
