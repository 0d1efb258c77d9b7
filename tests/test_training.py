"""The training step: micro-batches change the padding, not the step."""
import pytest
import torch

from sector.config import ComputeConfig, TrainConfig
from sector.model import build_model
from sector.training import MIN_LR_RATIO, Trainer, micro_batches

BATCH = [("F" + "7" * n + "+" + "3" * n, "0" * n + "1") for n in range(1, 9)] + [("C" + "12+3" * 6, "12+3" * 6), ("C9", "9")]


def test_micro_batches_sort_by_length_and_keep_every_example():
    slices = micro_batches(BATCH, 3)
    assert len(slices) == 3 and sorted(ex for s in slices for ex in s) == sorted(BATCH)
    longest = [max(len(a) + len(b) for a, b in s) for s in slices]
    assert longest == sorted(longest) and longest[0] < longest[-1]
    assert len(micro_batches(BATCH[:2], 3)) == 2  # never an empty slice


@pytest.mark.slow
def test_a_step_in_micro_batches_equals_one_step_on_the_whole_batch():
    states, losses = [], []
    for count in (1, 3):
        model = build_model("tiny", seed=0)
        trainer = Trainer(model, TrainConfig(batch_size=len(BATCH), warmup_steps=0),
                          ComputeConfig(train_precision="fp32", micro_batches=count, compile=False))
        losses.append(trainer.train(iter([BATCH]), 1)["loss"])
        states.append(model.state_dict())
    assert abs(losses[0] - losses[1]) < 1e-5
    init = build_model("tiny", seed=0).state_dict()
    assert sum(not torch.equal(states[0][k], init[k]) for k in init) > len(init) // 2
    # Adam's first step moves each weight by about lr * g / (|g| + eps): where a gradient is
    # near eps, summation-order rounding shows up as a visible share of lr (seen: 1.1e-5 of
    # 1e-3 on an AVX2 machine, < 1e-6 on AVX-512 ones). 2% of one step is far below a real bug.
    for name in init:
        torch.testing.assert_close(states[1][name], states[0][name], atol=2e-5, rtol=1e-4)


@pytest.mark.slow
def test_a_call_can_run_its_own_cycle_down_to_zero():
    import math

    trainer = Trainer(build_model("tiny", seed=0), TrainConfig(batch_size=len(BATCH), warmup_steps=0))
    seen = []
    step = trainer.optimizer.step
    trainer.optimizer.step = lambda: (seen.append(trainer.optimizer.param_groups[0]["lr"]), step())
    trainer.train(iter([BATCH] * 4), 4, lr=1e-2, min_lr_ratio=0.0)
    assert seen == [1e-2 * 0.5 * (1 + math.cos(math.pi * i / 4)) for i in range(4)]
    seen.clear()
    trainer.train(iter([BATCH] * 2), 2)  # the config's cycle again: lr 1e-3 down to 1e-4
    assert MIN_LR_RATIO == 0.1 and seen == [1e-3, 1e-3 * (0.1 + 0.9 * 0.5)]


def test_a_trainer_without_compute_settings_trains_eagerly_in_float32():
    trainer = Trainer(build_model("tiny", seed=0), TrainConfig())
    assert not trainer.bf16 and not isinstance(trainer.forward, torch._dynamo.eval_frame.OptimizedModule)


def test_per_device_defaults_slice_steps_on_a_cpu_only_and_train_fp32_on_cuda():
    from sector.training import default_micro_batches, faster_precision

    assert (default_micro_batches("cpu"), default_micro_batches("cuda")) == (3, 1)
    eager = dict(train_precision="fp32", compile=False)
    assert Trainer(build_model("tiny", seed=0), TrainConfig(), ComputeConfig(**eager)).slices == 3  # 0: per device
    assert Trainer(build_model("tiny", seed=0), TrainConfig(), ComputeConfig(**eager, micro_batches=2)).slices == 2
    assert faster_precision("cuda") == "fp32"


@pytest.mark.slow  # compiling takes a while on a CPU
def test_a_compiled_step_equals_the_eager_step():
    states, losses = [], []
    for compiled in (False, True):
        model = build_model("tiny", seed=0)
        trainer = Trainer(model, TrainConfig(batch_size=len(BATCH), warmup_steps=0),
                          ComputeConfig(train_precision="fp32", micro_batches=2, compile=compiled))
        losses.append(trainer.train(iter([BATCH, BATCH[::-1]]), 2)["loss"])
        states.append(model.state_dict())
    assert abs(losses[0] - losses[1]) < 1e-5
    assert all(torch.allclose(states[0][k], states[1][k], atol=1e-4) for k in states[0])
    assert isinstance(trainer.forward, torch._dynamo.eval_frame.OptimizedModule)
