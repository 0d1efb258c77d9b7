"""The maintained benchmarks in bench/ keep working: every Python script's --help runs (as
`python bench/SCRIPT --help` would: the script as __main__, its folder first on the path) and
names its main options, every shell script parses, and errors.py and batch_cost.py measure
what they claim."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

# Each script's main options: its --help must name them all.
OPTIONS = {
    "label_speed.py": ["checkpoint", "--digits", "--problems", "--repeats", "--device"],
    "flops.py": ["--model", "--digits", "--batch", "--steps", "--precisions", "--micro-batches", "--compile",
                 "--device"],
    "ablation_table.py": ["RUN_DIR"],
    "fork_after_phase1.py": ["SOURCE_RUN", "DEST", "--set"],
    "runs_table.py": ["RUN_DIR"],
    "seeds_table.py": ["RUN_DIR"],
    "round_table.py": ["RUN_DIR"],
    "checks_post_hoc.py": ["RUN_DIR", "ROUND", "LABELLING_CHECKPOINT", "--checks"],
    "batch_cost.py": ["RUN_DIR_OR_RECORD", "--digits", "--batches"],
    "errors.py": ["checkpoint", "--digits", "--count", "--family", "--labels", "--preset", "--set", "--json",
                  "carry_chain", "nine_heavy"],
}
SHELL_HELP = {
    "ablations.sh": ["SOURCE_RUN", "OUT_DIR", "EXTRA", "ROUNDS", "ROUND_MIN"],
    "gpu_reach.sh": ["start", "collect", "RUN_MIN", "ARGS", "rounds.time_budget_min"],
}


def test_every_script_is_covered():
    assert sorted(p.name for p in BENCH.glob("*.py")) == sorted(OPTIONS)
    assert sorted(p.name for p in BENCH.glob("*.sh")) == sorted(SHELL_HELP)


def run_help(script: str, monkeypatch) -> tuple[int, str, str]:
    """`python bench/SCRIPT --help` in this interpreter, which has imported torch already (a fresh
    one per script spends most of its time there): (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", [str(BENCH / script), "--help"])
    monkeypatch.setattr(sys, "path", [str(BENCH), *sys.path])
    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            runpy.run_path(str(BENCH / script), run_name="__main__")
        except SystemExit as e:
            code = e.code
    return code or 0, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("script", sorted(OPTIONS))
def test_python_help(script, monkeypatch):
    code, stdout, stderr = run_help(script, monkeypatch)
    assert code == 0, stderr
    missing = [o for o in OPTIONS[script] if o not in stdout]
    assert not missing, f"{script} --help does not name {missing}"


@pytest.mark.parametrize("script", sorted(SHELL_HELP))
def test_shell_parses_and_helps(script):
    assert subprocess.run(["bash", "-n", f"bench/{script}"], cwd=ROOT).returncode == 0
    done = subprocess.run(["bash", f"bench/{script}", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    missing = [o for o in SHELL_HELP[script] if o not in done.stdout]
    assert not missing, f"{script} --help does not name {missing}"


def bench_module(script: str):
    spec = importlib.util.spec_from_file_location(f"bench_{script}", BENCH / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def errors():
    return bench_module("errors")


def test_step_error_kinds(errors):
    kinds = errors.step_errors(["3|00+12", "3|000+12+1", "3|0001+12", "3|990+12", "3|000+12"],
                               ["3|000+12", "3|000+12", "3|000+12", "3|000+12", "3|000+12"])
    assert kinds == {"short": 1, "run_dropped": 1, "carry_left_out": 0, "long": 2, "run_added": 0,
                     "carry_added": 1, "same": 1}


def test_errors_runs_on_the_reference_model(errors, tmp_path, monkeypatch):
    out = tmp_path / "errors.json"
    monkeypatch.setattr(sys, "argv", ["errors.py", "--digits", "3", "6", "--count", "5", "--family", "carry_chain",
                                      "--device", "cpu", "--json", str(out)])
    errors.main()
    rows = json.loads(out.read_text())["rows"]
    assert [(r["family"], r["digits"], r["n"]) for r in rows] == [("carry_chain", 3, 5), ("carry_chain", 6, 5)]
    for r in rows:
        assert 0 <= r["fast"] <= 1 and 0 <= r["slow_step"] <= 1
        wrong = r["slow_wrong"]
        assert wrong["short"] + wrong["long"] + wrong["same"] == round((1 - r["slow_step"]) * r["n"])


def test_batch_cost_times_a_rounds_batches_against_the_recorded_step(capsys, monkeypatch):
    record = ROOT / "docs/runs/columns_families_pieces_s1"
    monkeypatch.setattr(sys, "argv", ["batch_cost.py", str(record), "--digits", "8", "--batches", "3"])
    module = bench_module("batch_cost")
    module.main()
    out = capsys.readouterr().out
    from sector.rundir import read_jsonl

    step = next(p for p in read_jsonl(record / "progress.jsonl") if p["unit"] == "round" and p["digits"] == 8)
    assert module.recorded_step_s(record, 8) == step["train_s"] / step["steps"]
    assert module.recorded_step_s(record, 40) is None
    assert "8 digits, batch 64, 3 batches" in out and f"{step['train_s'] / step['steps'] * 1e3:.0f} ms" in out


@pytest.mark.slow
def test_seeds_table_agrees_with_the_runs_own_records(tiny_run, capsys, monkeypatch):
    from sector.rundir import read_jsonl

    out, summary = tiny_run
    table = bench_module("seeds_table")
    row = table.record(out)
    assert (row["strict"], row["uniform"], row["trained_to"]) == (summary["strict_frontier"], summary["frontier"],
                                                                 summary["trained_to"])
    # per-family counts in the progress rows against the per-length ones in metrics.jsonl
    scored = [m for m in read_jsonl(out / "metrics.jsonl") if m["phase"] == "self" and m["mode"] == "label_accepted"]
    assert (row["wrong"], row["accepted"]) == (sum(m["n"] - m["correct"] for m in scored), sum(m["n"] for m in scored))
    monkeypatch.setattr(sys, "argv", ["seeds_table.py", str(out), str(out)])
    table.main()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[-1].startswith(f"| mean ± sd (range) | | {summary['strict_frontier']:.1f} ± 0.0")
