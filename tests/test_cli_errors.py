"""Bad input: one line on stderr, exit code 2, no traceback, nothing lost."""
import hashlib
import json
import subprocess
import sys

import pytest
import torch

from sector.cli import main


def one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("sector: error:"), err
    return err


@pytest.mark.parametrize("a,b", [("12a", "3"), ("", "5"), ("-1", "2"), ("1" * 10_000, "1")])
def test_add_rejects_malformed_operands(capsys, a, b, tiny_run):
    one_line_error(capsys, ["add", a, b, "--checkpoint", str(tiny_run[0])])


@pytest.mark.parametrize("line", ["12a+3", "+5", "1+2+2", "", "-1+2", "1" * 10_000 + "+1"])
def test_eval_rejects_malformed_problem_files(capsys, tmp_path, tiny_run, line):
    f = tmp_path / "p.txt"
    f.write_text("1+2\n" + line + "\n")
    err = one_line_error(capsys, ["eval", str(tiny_run[0]), "--problems", str(f)])
    if line:
        assert ":2:" in err


@pytest.mark.parametrize("argv", [
    ["run", "--preset", "nope"],
    ["run", "--max-rounds", "-1"],
    ["run", "--k", "0"],
    ["run", "--seed", "x"],
    ["run", "--time-budget", "soon"],
    ["run", "--time-budget", "nan"],
    ["run", "--model", "/does/not/exist"],
    ["run", "--task", "division"],
    ["run", "--set", "round_steps=many"],
    ["run", "--set", "nope=1"],
    ["run", "--set", "train.lr"],
    ["run", "--set", "train.precision=fp16"],
    ["run", "--set", "stage_steps=0"],  # would loop forever
    ["run", "--set", "seed=-1"],
    ["run", "--set", "decode_batch=0"],
    ["run", "--set", "copy_weight=1.5"],
    ["run", "--set", "holdout_labels=-1"],
    ["run", "--set", "train.micro_batches=-1"],
    ["frobnicate"],
    ["add", "1"],
])
def test_bad_flags(capsys, argv, tmp_path):
    one_line_error(capsys, argv + ["--out", str(tmp_path / "r")] if argv[0] == "run" else argv)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv", [["--device", "cuda"], ["--preset", "gpu"]])
def test_asking_for_cuda_without_it_is_one_line(capsys, monkeypatch, tmp_path, argv):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    err = one_line_error(capsys, ["run", *argv, "--out", str(tmp_path / "r")])
    assert "no CUDA device" in err and not (tmp_path / "r").exists()


def test_eval_names_an_unknown_task(capsys, tiny_run):
    assert "unknown task 'division'" in one_line_error(capsys, ["eval", str(tiny_run[0]), "--task", "division"])


def test_missing_and_corrupt_checkpoints(capsys, tmp_path, tiny_run):
    one_line_error(capsys, ["add", "1", "2", "--checkpoint", str(tmp_path / "missing")])
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    src = tiny_run[0] / "checkpoints" / "round_002"
    (ckpt / "config.json").write_text((src / "config.json").read_text())
    (ckpt / "model.safetensors").write_bytes((src / "model.safetensors").read_bytes()[:1000])
    assert "corrupt" in one_line_error(capsys, ["add", "1", "2", "--checkpoint", str(ckpt)])
    (ckpt / "config.json").unlink()
    one_line_error(capsys, ["eval", str(ckpt)])


def digest(path):
    return {p.relative_to(path): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


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


def test_no_traceback_from_the_installed_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sector", "add", "12a", "3", "--checkpoint", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_reader_that_goes_away_is_no_traceback(tiny_run):
    """`sector eval RUN | head -1`: the pipe closes before the table is written."""
    proc = subprocess.Popen([sys.executable, "-m", "sector", "eval", str(tiny_run[0]), "--digits", "3", "--count", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 141 and stderr == ""


def test_resume_with_missing_training_data_is_one_line(capsys, tmp_path, tiny_run):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run)
    (run / "data" / "holdout_len03.jsonl").unlink()
    one_line_error(capsys, ["run", "--resume", str(run), "--max-rounds", "3"])


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


def test_resume_takes_no_new_model_task_seed_or_rules(capsys, tiny_run):
    for flag, value in (("--model", "tiny"), ("--task", "subtraction"), ("--seed", "1"),
                        ("--set", "round_problems=5"), ("--set", "train.lr=0.1")):
        assert "cannot change" in one_line_error(capsys, ["run", "--resume", str(tiny_run[0]), flag, value])
    assert "--out" in one_line_error(capsys, ["run", "--resume", str(tiny_run[0]), "--out", "elsewhere"])
    assert "batch_size" in one_line_error(capsys, ["run", "--resume", str(tiny_run[0]), "--set", "train.batch_size=0"])
    if not torch.cuda.is_available():
        assert "cuda" in one_line_error(capsys, ["run", "--resume", str(tiny_run[0]), "--device", "cuda"])


def test_model_directory_without_weights_leaves_no_run(capsys, tmp_path, tiny_run):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text((tiny_run[0] / "checkpoints" / "round_002" / "config.json").read_text())
    out = tmp_path / "r"
    one_line_error(capsys, ["run", "--preset", "test", "--model", str(model), "--out", str(out)])
    assert not out.exists()  # so the same command, fixed, is not refused as "already holds a run"


@pytest.mark.parametrize("damage", ["unknown config key", "unknown state key"])
def test_resume_of_a_run_with_a_foreign_config_or_state_is_one_line(capsys, tmp_path, tiny_run, damage):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run)
    name = "config.json" if damage == "unknown config key" else "state.json"
    saved = json.loads((run / name).read_text())
    (run / name).write_text(json.dumps({**saved, "from_the_future": 1}))
    assert name in one_line_error(capsys, ["run", "--resume", str(run), "--max-rounds", "3"])


def test_eval_problem_file_that_is_not_text_or_has_foreign_digits(capsys, tmp_path, tiny_run):
    binary = tmp_path / "p.bin"
    binary.write_bytes(b"1+2\n\xff\xfe\x00\n")
    assert "UTF-8" in one_line_error(capsys, ["eval", str(tiny_run[0]), "--problems", str(binary)])
    arabic = tmp_path / "p.txt"
    arabic.write_text("\u0661\u0662+3\n", encoding="utf-8")  # Arabic-Indic digits: int() would take them
    assert ":1:" in one_line_error(capsys, ["eval", str(tiny_run[0]), "--problems", str(arabic)])


def test_eval_json_to_an_unwritable_place_is_one_line(capsys, tmp_path, tiny_run):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "cannot write" in one_line_error(capsys, ["eval", str(tiny_run[0]), "--digits", "2", "--count", "2",
                                                     "--json", str(blocker / "acc.json")])
