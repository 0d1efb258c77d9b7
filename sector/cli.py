"""`sector run | config | eval | add | report`. Bad input gets one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process killed by SIGPIPE


class UsageError(Exception):
    """Anything the user can fix: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def _at_least(kind: str, minimum: int, number: type = int):
    """An argparse type: `number` (int or float) of at least `minimum`, else one clear line."""
    noun = "an integer" if number is int else "a number"

    def parse(text: str):
        try:
            value = number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{kind} must be {noun}, got {text!r}") from None
        if not (math.isfinite(value) and value >= minimum):
            raise argparse.ArgumentTypeError(f"{kind} must be >= {minimum}, got {text}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The `sector` parser, one subcommand per command; a bad argument raises UsageError."""
    from sector.config import PRESETS

    p = _Parser(prog="sector", description="A language model teaches itself addition through its own chain of thought (SECToR).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="phase 1, then self-training rounds, into an output directory")
    _add_config_arguments(r)
    r.add_argument("--out", help="output directory (default runs/PRESET)")
    r.add_argument("--resume", metavar="DIR", help="continue the run in DIR with its own config; its limits "
                   "(rounds.max_rounds, rounds.time_budget_min), train.batch_size and compute.* settings may change")

    c = sub.add_parser("config", help="print the resolved config of a preset and settings, with each field's help")
    _add_config_arguments(c)

    e = sub.add_parser("eval", help="per-length exact match of a checkpoint (FAST by default)")
    e.add_argument("checkpoint", nargs="?", help="a checkpoint or run directory (default: the shipped reference model)")
    e.add_argument("--problems", help="a file with one problem a line: a+b or a+b+1 (a-b or a-b-1 for subtraction)")
    e.add_argument("--digits", type=_at_least("--digits", 1), default=10, help="without --problems: lengths 1..N")
    e.add_argument("--count", type=_at_least("--count", 1), default=100, help="without --problems: problems per length")
    e.add_argument("--suite", default="all", help="without --problems: a problem family of the task (uniform, "
                   "mixed, carry_chain, zero_heavy, nine_heavy, repeated; subtraction: borrow_chain for carry_chain) "
                   "or all (default)")
    e.add_argument("--task", help="the skill the checkpoint learned (default: the run's, else addition)")
    e.add_argument("--mode", choices=("fast", "slow"), default="fast")
    e.add_argument("--seed", type=_at_least("--seed", 0), default=0)
    e.add_argument("--json", dest="json_out", help="write the per-length table here")

    a = sub.add_parser("add", help="add two numbers and show the chain of thought")
    a.add_argument("a")
    a.add_argument("b")
    a.add_argument("--carry", action="store_true", help="add a carry-in of 1")
    a.add_argument("--checkpoint", help="a checkpoint or run directory (default: the shipped reference model)")
    a.add_argument("--k", type=_at_least("--k", 1), help="S&G candidates (default: the run's rounds.sng_k)")

    rep = sub.add_parser("report", help="plots and report.md for a run directory")
    rep.add_argument("run_dir")
    p.epilog = f"presets: {', '.join(PRESETS)}"
    return p


def _add_config_arguments(p: argparse.ArgumentParser) -> None:
    from sector.config import PRESETS

    p.add_argument("--preset", help=f"{' | '.join(PRESETS)} (default: the task's own preset, if it has one, "
                   "else default)")
    p.add_argument("--seed", type=_at_least("--seed", 0))
    p.add_argument("--max-rounds", type=_at_least("--max-rounds", 0))
    p.add_argument("--time-budget", type=_at_least("--time-budget", 0, float), metavar="MIN",
                   help="start no round that, at the last round's pace, would end after MIN "
                   "minutes (0: no budget; default preset 107)")
    p.add_argument("--k", type=_at_least("--k", 1), help="Simplify-then-Guess candidates (default 5)")
    p.add_argument("--model", help="a size preset or a local directory holding a pretrained T5/ByT5")
    p.add_argument("--task", help="the skill to learn: addition (default) | subtraction")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: cuda when there is one")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key (`sector config` lists them), e.g. --set rounds.max_steps=2000 "
                   "--set train.lr=3e-3")


def _settings(args) -> dict:
    """The dotted settings that the flags and every --set ask for."""
    from sector.config import Config, parse_setting

    flags = {"seed": args.seed, "rounds.max_rounds": args.max_rounds, "rounds.time_budget_min": args.time_budget,
             "rounds.sng_k": args.k, "model.name": args.model, "task": args.task, "compute.device": args.device}
    settings = {k: v for k, v in flags.items() if v is not None}
    for setting in args.set:
        try:
            key, value = parse_setting(Config(), setting)
        except ValueError as e:
            raise UsageError(str(e)) from None
        settings[key] = value
    return settings


def _config(args):
    """The preset the arguments name, with their settings applied and checked."""
    from sector.config import PRESETS, preset
    from sector.model import MODEL_PRESETS

    name = args.preset or (args.task if args.task in PRESETS else "default")
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    cfg = preset(name, _settings(args))
    if cfg.model.name not in MODEL_PRESETS and not Path(cfg.model.name).is_dir():
        raise UsageError(f"--model {cfg.model.name!r} is neither a size preset ({', '.join(MODEL_PRESETS)}) "
                         "nor a directory")
    try:
        cfg.validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    return cfg


def cmd_run(args: argparse.Namespace) -> int:
    """`sector run`: a new run of the preset and settings, or `--resume DIR`; prints its summary as JSON."""
    from sector.method import run

    if args.resume:
        if args.preset is not None or args.out is not None:
            raise UsageError("--resume DIR continues the run in DIR with its own config: "
                             "--preset and --out do not apply")
        summary = run(None, args.resume, resume=True, changes=_settings(args))
    else:
        cfg = _config(args)
        summary = run(cfg, args.out or f"runs/{cfg.preset}")
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, rank 0 speaks for all
        print(json.dumps(summary))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """`sector config`: print the resolved config, each setting with its help."""
    from sector.config import describe

    print(describe(_config(args)))
    return 0


def _read_problems(task, path: str):
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    problems = []
    for number, line in enumerate(lines, 1):
        try:
            problems.append(task.parse_problem(line))
        except ValueError as e:
            raise UsageError(f"{path}:{number}: {e}") from None
    if not problems:
        raise UsageError(f"{path} holds no problems")
    return problems


def _run_config(path: Path) -> dict:
    """The config of the run that `path` (a run directory, one of its checkpoints, or a
    record's `checkpoint/` beside its config) belongs to; {} where there is none."""
    for run in (path, path.parent, path.parent.parent):
        try:
            config = json.loads((run / "config.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(config, dict) and "task" in config:  # not a model's own config.json
            return config
    return {}


def cmd_eval(args: argparse.Namespace) -> int:
    """`sector eval`: a checkpoint's per-length exact match, by suite or on a file's problems, and its frontier."""
    from sector.evaluate import FRONTIER_ACCURACY, frontier_of, strict_frontier
    from sector.inference import evaluate
    from sector.rundir import REFERENCE_MODEL, load_model, prompt_format_of, write_json
    from sector.tasks import TASKS, get_task

    checkpoint = Path(args.checkpoint) if args.checkpoint else REFERENCE_MODEL
    name = args.task or _run_config(checkpoint).get("task", "addition")
    if name not in TASKS:
        raise UsageError(f"unknown task {name!r} (choose from {', '.join(TASKS)})")
    model = load_model(checkpoint)
    task = get_task(name, prompt_format_of(model))[0]
    if args.problems:
        suites = {"given": _read_problems(task, args.problems)}
    elif args.suite == "all":
        suites = dict.fromkeys(task.families)
    elif args.suite in task.families:
        suites = {args.suite: None}
    else:
        raise UsageError(f"unknown suite {args.suite!r} for {name} (choose from all, {', '.join(task.families)})")
    rows = [{"suite": suite, **r} for suite, problems in suites.items()
            for r in evaluate(model, name, range(1, args.digits + 1), args.count, args.seed, args.mode,
                              suite if problems is None else "uniform", problems)]
    table = [{k: r[k] for k in ("suite", "digits", "n", "correct", "accuracy", "ci_low", "ci_high")} for r in rows]
    for r in table:
        print(f"{r['suite']:>12s} {r['digits']:4d} digits  {r['correct']:5d}/{r['n']:<5d} {r['accuracy']:7.2%}  "
              f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
    if args.mode == "fast" and not args.problems:
        rows = [{**r, "mode": "fast"} for r in rows]
        strict = f", strict frontier {strict_frontier(rows)}" if len(suites) > 1 else ""
        print(f"frontier {frontier_of(rows) if 'uniform' in suites else 'n/a'}{strict} "
              f"(FAST >= {FRONTIER_ACCURACY:.0%} on every length from 1; {args.count} problems a length and suite)")
    if args.json_out:
        try:
            write_json(Path(args.json_out), {"mode": args.mode, "per_length": table})
        except OSError as e:
            raise UsageError(f"cannot write {args.json_out}: {e.strerror or e}") from None
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """`sector add`: one sum with FAST's answer, the SLOW chain, the S&G candidates and the loop's verdict."""
    from dataclasses import replace

    from sector.config import Config, preset
    from sector.decoding import reduce_and_guess
    from sector.experiment import decode_settings
    from sector.labelling import LevelVote, apply_filters, labelling_from_config
    from sector.rundir import REFERENCE_MODEL, load_model, prompt_format_of
    from sector.tasks import get_task

    checkpoint = Path(args.checkpoint) if args.checkpoint else REFERENCE_MODEL
    model = load_model(checkpoint)
    task, _ = get_task("addition", prompt_format_of(model))
    try:
        problem = task.parse_problem(f"{args.a}+{args.b}" + ("+1" if args.carry else ""))
    except ValueError as e:
        raise UsageError(str(e)) from None
    # Everything shown is the loop's own: its decoding, its labeller with every candidate
    # asked, and its filters: those of the checkpoint's run (the default preset's for a bare model).
    saved = _run_config(checkpoint)
    try:
        run_cfg = Config.from_dict(saved) if saved else preset("default")
        run_cfg.validate()
    except (ValueError, TypeError, KeyError) as e:
        raise UsageError(f"{checkpoint}: its run's config.json does not load: {e}") from None
    rounds = replace(run_cfg.rounds, sng_k=args.k) if args.k else run_cfg.rounds
    decode_kw = decode_settings(run_cfg)
    depth = max(0, min(rounds.sng_k, problem.digits - 1))
    trace = reduce_and_guess(model, task, [problem], depth, **decode_kw)
    answer, fast_text = trace.candidates[0][0], trace.guess_texts[0][0]
    print(f"problem     {problem}")
    print(f"FAST        {answer if answer is not None else f'malformed: the model wrote {fast_text!r} (internal, least significant digit first)'}")
    print("SLOW chain  (each step emits the last digit of the sum and writes what remains)")
    for k, (step, text) in enumerate(zip(trace.steps, trace.step_texts), 1):
        if step[0] is None:
            print(f"  step {k}: malformed, the model wrote {text[0]!r} (internal, least significant digit first); "
                  "the chain stops")
            break
        print(f"  step {k}: emit {step[0][0]}, remaining {step[0][1]}")
    print("Simplify-then-Guess  (k steps, then a FAST guess on the rest)")
    for k in range(1, depth + 1):
        c = trace.candidates[k][0]
        print(f"  k={k}: {c if c is not None else '(malformed)'}")
    if not depth:
        return 0
    labeller, filters = labelling_from_config(rounds, decode_kw)
    if isinstance(labeller, LevelVote):
        labeller.stop_when_settled = False  # every candidate asked, so the vote shown is complete
    label = labeller(model, task, [problem])[0]
    apply_filters(model, task, labeller, filters, [label])
    twin = label.twin.label if label.twin is not None else None
    print(f"vote        {label.label if label.label is not None else '(none)'} "
          f"({label.votes} of {len(label.candidates)} candidates); twin {task.twin(problem)}: "
          f"{twin if twin is not None else '(not asked)' if label.twin is None else '(none)'}")
    print(f"self-label  {'accepted' if label.accepted else f'rejected ({label.reason})'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """`sector report`: draw a run's plots and report.md; prints the report's path."""
    from sector.report import write_report
    from sector.rundir import RunDir

    path = write_report(RunDir.open(args.run_dir))
    print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command that `argv` (default: sys.argv[1:]) names; returns the exit code, 2 for bad input."""
    from sector.rundir import RunError

    try:
        args = build_parser().parse_args(argv)
        handler = {"run": cmd_run, "config": cmd_config, "eval": cmd_eval, "add": cmd_add,
                   "report": cmd_report}[args.command]
        return handler(args)
    except (UsageError, RunError) as e:
        print(f"sector: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sector: interrupted; resume with --resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`sector eval ... | head`): nothing is wrong
        # Point stdout at /dev/null so that the interpreter's last flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
