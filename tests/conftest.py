import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One complete run of the `test` preset, shared by the tests that only read it (about
    40 s on 2 cores: a test that asks for it belongs under @pytest.mark.slow)."""
    from sector.config import preset
    from sector.method import run

    out = tmp_path_factory.mktemp("runs") / "tiny"
    summary = run(preset("test"), str(out), log=lambda _: None)
    return out, summary


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """An untrained tiny model saved as a checkpoint: for the CLI paths that need a model to
    load but not a trained one."""
    from sector.model import build_model, save_model

    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    model = build_model("tiny", seed=0)
    model.config.prompt_format = "columns"  # as a run records it
    save_model(model, path)
    return path
