"""sector: a language model teaches itself a skill through its own chain of thought (SECToR,
Zhang & Parkes 2023).

    from sector import Config, run, load_model, solve, evaluate
    summary = run(Config(), "runs/default")        # phase 1, rounds, anneal: the whole method
    model = load_model("runs/default")             # or load_model() for the shipped reference
    solve(model, "4521+3897")                       # 8418

Extending it: a skill is a `Task` (no answers) with an `Oracle` (answers, for phase 1 and
evaluation only), registered by name with `register_task`; labellers and filters are
entries of `LABELLERS` and `FILTERS`. docs/DESIGN.md says how the parts fit.
"""

__version__ = "0.2.0"

from sector.config import PRESETS, Config, preset  # noqa: E402
from sector.inference import evaluate, solve  # noqa: E402
from sector.labelling import FILTERS, LABELLERS, Filter, Label, Labeller  # noqa: E402
from sector.method import run  # noqa: E402
from sector.rundir import REFERENCE_MODEL, RunError, load_model, prompt_format_of  # noqa: E402
from sector.tasks import TASKS, Oracle, Problem, Task, get_task, register_task  # noqa: E402

__all__ = ["Config", "PRESETS", "preset", "run", "load_model", "prompt_format_of", "REFERENCE_MODEL", "solve", "evaluate",
           "Task", "Oracle", "Problem", "TASKS", "register_task", "get_task",
           "Labeller", "Filter", "Label", "LABELLERS", "FILTERS", "RunError"]
