import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One complete run of the `test` preset, shared by the tests that only read it."""
    from sector.config import preset
    from sector.loop import run

    out = tmp_path_factory.mktemp("runs") / "tiny"
    summary = run(preset("test"), str(out), log=lambda _: None)
    return out, summary
