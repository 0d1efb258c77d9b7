"""Bad input: one line on stderr, exit code 2, no traceback, nothing lost."""
import hashlib
import json
import subprocess
import sys

import pytest
import torch

from sector.cli import main
from sector.config import preset
from sector.rundir import RunDir


def one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("sector: error:"), err
    return err


@pytest.fixture
def begun_run(tmp_path):
    """A run directory as `sector run --preset test` leaves it before its first checkpoint: a
    config.json, which is all a resume reads before it loads anything."""
    out = tmp_path / "begun"
    RunDir.create(out, preset("test").to_dict())
    return out


@pytest.mark.parametrize("a,b", [("12a", "3"), ("", "5"), ("-1", "2"), ("1" * 10_000, "1")])
def test_add_rejects_malformed_operands(capsys, a, b):
    one_line_error(capsys, ["add", a, b])


@pytest.mark.parametrize("line", ["12a+3", "+5", "1+2+2", "", "-1+2", "1" * 10_000 + "+1"])
def test_eval_rejects_malformed_problem_files(capsys, tmp_path, line):
    f = tmp_path / "p.txt"
    f.write_text("1+2\n" + line + "\n")
    err = one_line_error(capsys, ["eval", "--problems", str(f)])
    if line:
        assert ":2:" in err


BAD_CONFIG_FLAGS = [
    ["--preset", "nope"],
    ["--max-rounds", "-1"],
    ["--k", "0"],
    ["--seed", "x"],
    ["--time-budget", "soon"],
    ["--time-budget", "nan"],
    ["--model", "/does/not/exist"],
    ["--task", "division"],
    ["--set", "rounds.steps=many"],
    ["--set", "nope=1"],
    ["--set", "rounds.nope=1"],
    ["--set", "rounds=1"],  # a section, not a setting
    ["--set", "round_steps=3"],  # the old flat name
    ["--set", "copy_weight=0.5"],  # a constant now, no setting
    ["--set", "train.lr"],
    ["--set", "compute.train_precision=fp16"],
    ["--set", "phase1.stage_steps=0"],  # would loop forever
    ["--set", "seed=-1"],
    ["--set", "compute.decode_batch=0"],
    ["--set", "mixture.families={\"uniform\": -1}"],
    ["--set", "rounds.holdout_labels=-1"],
    ["--set", "compute.micro_batches=-1"],
    ["--set", "rounds.filters=[3]"],
    ["--set", "rounds.filters=[\"nope\"]"],
    ["--set", "rounds.labeller=nope"],
    ["--set", "phase1.curriculum_start=9"],  # past phase1.digits
]


@pytest.mark.parametrize("argv", [["run", *flags] for flags in BAD_CONFIG_FLAGS] + [["frobnicate"], ["add", "1"]])
def test_bad_flags(capsys, argv, tmp_path):
    one_line_error(capsys, argv + ["--out", str(tmp_path / "r")] if argv[0] == "run" else argv)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flags", BAD_CONFIG_FLAGS)
def test_config_refuses_what_run_refuses(capsys, flags):
    one_line_error(capsys, ["config", *flags])
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("argv", [["--device", "cuda"], ["--preset", "gpu"]])
def test_asking_for_cuda_without_it_is_one_line(capsys, monkeypatch, tmp_path, argv):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    err = one_line_error(capsys, ["run", *argv, "--out", str(tmp_path / "r")])
    assert "no CUDA device" in err and not (tmp_path / "r").exists()


def test_eval_names_an_unknown_task(capsys):
    assert "unknown task 'division'" in one_line_error(capsys, ["eval", "--task", "division"])


def test_missing_and_corrupt_checkpoints(capsys, tmp_path, tiny_checkpoint):
    one_line_error(capsys, ["add", "1", "2", "--checkpoint", str(tmp_path / "missing")])
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    src = tiny_checkpoint
    (ckpt / "config.json").write_text((src / "config.json").read_text())
    (ckpt / "model.safetensors").write_bytes((src / "model.safetensors").read_bytes()[:1000])
    assert "corrupt" in one_line_error(capsys, ["add", "1", "2", "--checkpoint", str(ckpt)])
    (ckpt / "config.json").unlink()
    one_line_error(capsys, ["eval", str(ckpt)])


def digest(path):
    return {p.relative_to(path): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_refuses_to_overwrite_a_run_or_resume_a_non_run(capsys, tiny_run, tmp_path):
    out = tiny_run[0]
    before = digest(out)
    assert "already holds a run" in one_line_error(capsys, ["run", "--preset", "test", "--out", str(out)])
    assert digest(out) == before
    not_a_run = tmp_path / "plain"
    not_a_run.mkdir()
    assert "not a run" in one_line_error(capsys, ["run", "--resume", str(not_a_run)])


def test_unwritable_output_directory(capsys, tmp_path):
    # A path below a regular file cannot be created, not even by root.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "cannot write" in one_line_error(capsys, ["run", "--preset", "test", "--out", str(blocker / "run")])


@pytest.mark.slow
def test_no_traceback_from_the_installed_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sector", "add", "12a", "3", "--checkpoint", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_reader_that_goes_away_is_no_traceback(tiny_checkpoint):
    """`sector eval CHECKPOINT | head -1`: the pipe closes before the table is written."""
    proc = subprocess.Popen([sys.executable, "-m", "sector", "eval", str(tiny_checkpoint), "--digits", "3",
                             "--count", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 141 and stderr == ""


@pytest.mark.slow
def test_resume_with_missing_training_data_is_one_line(capsys, tmp_path, tiny_run):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run)
    (run / "data" / "holdout_len03.jsonl").unlink()
    one_line_error(capsys, ["run", "--resume", str(run), "--max-rounds", "3"])


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_resume_with_damaged_optimizer_state_is_one_line(capsys, tmp_path, tiny_run, damage):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run)
    state = run / "checkpoints" / json.loads((run / "state.json").read_text())["checkpoint"] / "optimizer.safetensors"
    if damage == "missing":
        state.unlink()
    else:
        state.write_bytes(state.read_bytes()[:100])
    err = one_line_error(capsys, ["run", "--resume", str(run), "--max-rounds", "3"])
    assert "corrupt checkpoint" in err


def test_resume_takes_no_new_model_task_seed_or_rules(capsys, begun_run):
    before = digest(begun_run)
    for flag, value, key in (("--model", "tiny", "model.name"), ("--task", "subtraction", "task"),
                             ("--seed", "1", "seed"), ("--set", "rounds.problems=5", "rounds.problems"),
                             ("--set", "train.lr=0.1", "train.lr")):
        err = one_line_error(capsys, ["run", "--resume", str(begun_run), flag, value])
        assert f"cannot change {key} " in err
    assert "--out" in one_line_error(capsys, ["run", "--resume", str(begun_run), "--out", "elsewhere"])
    assert "--preset" in one_line_error(capsys, ["run", "--resume", str(begun_run), "--preset", "test"])
    assert "train.batch_size must be >= 1" in one_line_error(
        capsys, ["run", "--resume", str(begun_run), "--set", "train.batch_size=0"])
    if not torch.cuda.is_available():
        assert "cuda" in one_line_error(capsys, ["run", "--resume", str(begun_run), "--device", "cuda"])
    assert digest(begun_run) == before


def test_model_directory_without_weights_leaves_no_run(capsys, tmp_path, tiny_checkpoint):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text((tiny_checkpoint / "config.json").read_text())
    out = tmp_path / "r"
    one_line_error(capsys, ["run", "--preset", "test", "--model", str(model), "--out", str(out)])
    assert not out.exists()  # so the same command, fixed, is not refused as "already holds a run"


def test_a_model_of_another_prompt_format_is_refused_in_one_line(capsys, tmp_path, tiny_checkpoint):
    out = tmp_path / "r"
    err = one_line_error(capsys, ["run", "--preset", "test", "--model", str(tiny_checkpoint), "--out", str(out),
                                  "--set", "prompt_format=plain"])
    assert "trained on columns prompts" in err and "prompt_format=columns" in err and not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["unknown config key", "unknown state key"])
def test_resume_of_a_run_with_a_foreign_config_or_state_is_one_line(capsys, tmp_path, tiny_run, damage):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run)
    name = "config.json" if damage == "unknown config key" else "state.json"
    saved = json.loads((run / name).read_text())
    (run / name).write_text(json.dumps({**saved, "from_the_future": 1}))
    assert name in one_line_error(capsys, ["run", "--resume", str(run), "--max-rounds", "3"])


def test_resume_of_a_run_whose_config_holds_a_value_of_the_wrong_type_is_one_line(capsys, begun_run):
    config = json.loads((begun_run / "config.json").read_text())
    config["rounds"]["sng_k"] = "3"
    (begun_run / "config.json").write_text(json.dumps(config))
    assert "config.json" in one_line_error(capsys, ["run", "--resume", str(begun_run)])


def test_eval_problem_file_that_is_not_text_or_has_foreign_digits(capsys, tmp_path):
    binary = tmp_path / "p.bin"
    binary.write_bytes(b"1+2\n\xff\xfe\x00\n")
    assert "UTF-8" in one_line_error(capsys, ["eval", "--problems", str(binary)])
    arabic = tmp_path / "p.txt"
    arabic.write_text("\u0661\u0662+3\n", encoding="utf-8")  # Arabic-Indic digits: int() would take them
    assert ":1:" in one_line_error(capsys, ["eval", "--problems", str(arabic)])


@pytest.mark.slow
def test_eval_json_to_an_unwritable_place_is_one_line(capsys, tmp_path, tiny_checkpoint):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "cannot write" in one_line_error(capsys, ["eval", str(tiny_checkpoint), "--digits", "2", "--count", "2",
                                                     "--json", str(blocker / "acc.json")])
