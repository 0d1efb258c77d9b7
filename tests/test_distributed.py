"""Data parallelism: two CPU ranks under torchrun (gloo) against one process."""
import json
import os
import subprocess
import sys

import pytest
import torch

from sector.distributed import World
from sector.model import build_model

STEP = """
import sys
import torch
from sector.distributed import init_world
from sector.config import ComputeConfig, TrainConfig
from sector.model import build_model
from sector.training import Trainer

world = init_world("cpu")
model = build_model("tiny", seed=0)
trainer = Trainer(model, TrainConfig(batch_size=8, warmup_steps=0), ComputeConfig(train_precision="fp32", compile=False),
                  world)
batch = [("F" + "7" * n + "+" + "3" * n, "0" * n + "1") for n in range(1, 7)] + [("C12+3", "12+3"), ("C9", "9")]
stats = trainer.train(iter([batch]), 1)
if world.is_main:
    torch.save({"state": model.state_dict(), "loss": stats["loss"]}, sys.argv[1])
trainer.close()
world.close()
"""


def torchrun(*argv, ranks=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)


def test_shard_and_gather_put_items_back_in_order(monkeypatch):
    items = list(range(11))
    shards = [World(rank, 3).shard(items) for rank in range(3)]
    assert sorted(x for s in shards for x in s) == items and len({len(s) for s in shards}) == 2

    def all_gather_object(out, mine):  # what gloo would deliver: every rank's shard, by rank
        out[:] = shards

    monkeypatch.setattr(torch.distributed, "all_gather_object", all_gather_object)
    assert World(1, 3).gather(shards[1]) == items


@pytest.mark.slow
def test_one_step_on_two_ranks_equals_one_process_with_the_whole_batch(tmp_path):
    script = tmp_path / "step.py"
    script.write_text(STEP)
    single = subprocess.run([sys.executable, str(script), str(tmp_path / "one.pt")],
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    two = torchrun(str(script), str(tmp_path / "two.pt"))
    assert two.returncode == 0, two.stderr[-3000:]
    one, both = (torch.load(tmp_path / f) for f in ("one.pt", "two.pt"))
    assert abs(one["loss"] - both["loss"]) < 1e-5  # the global token mean, gathered over ranks
    one, both = one["state"], both["state"]
    init = build_model("tiny", seed=0).state_dict()
    moved = sum(not torch.equal(one[k], init[k]) for k in one)
    assert moved > len(one) // 2  # the step did change the weights
    for name in one:
        torch.testing.assert_close(both[name], one[name], atol=1e-6, rtol=1e-4)


@pytest.mark.slow
def test_a_run_on_two_ranks_writes_what_one_process_writes(tmp_path, tiny_run):
    one, _ = tiny_run
    two = tmp_path / "two"
    result = torchrun("-m", "sector", "run", "--preset", "test", "--out", str(two))
    assert result.returncode == 0, result.stderr[-3000:]
    # rank 0 alone prints the summary: one JSON line, the run's summary.json
    printed = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert [json.loads(line) for line in printed] == [json.loads((two / "summary.json").read_text())]
    files = lambda root: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "tb" not in p.parts)
    assert files(two) == files(one)
    summary_one, summary_two = (json.loads((d / "summary.json").read_text()) for d in (one, two))
    assert {k: summary_two[k] for k in ("rounds", "trained_to", "stop_reason")} == \
           {k: summary_one[k] for k in ("rounds", "trained_to", "stop_reason")}
    rows = lambda d: [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]
    counts = lambda d: [(r["phase"], r["round"], r["mode"], r["digits"], r["n"]) for r in rows(d)]
    assert counts(two) == counts(one)  # every evaluation saw all its problems, across ranks
    labels = lambda d: [json.loads(x)["problem"] for x in (d / "labels/round_001.jsonl").read_text().splitlines()]
    assert labels(two) == labels(one)  # the shards were gathered back in order
