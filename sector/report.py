"""The run report: `DIR/report/report.md` and PNG plots, made from metrics.jsonl and
progress.jsonl alone, so it can be drawn for a finished run or one still going."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sector.evaluate import FAMILY_FLOOR  # noqa: E402
from sector.rundir import RunDir, atomic_write  # noqa: E402

# "label_sng" is the vote of the run's labeller, whichever it is (S&G by default).
LABEL_METHODS = [("label_fast", "FAST alone"), ("label_slow", "first candidate (S&G: 1 SLOW step + FAST)"),
                 ("label_sng", "the labeller's vote"), ("label_accepted", "vote + filters (trained on)")]


def unit_seconds(progress_row: dict) -> float:
    """The wall time of one unit of work in progress.jsonl (a round's is the sum of its parts)."""
    return progress_row.get("wall_s") or sum(progress_row.get(k, 0.0) for k in ("label_s", "train_s", "check_s", "eval_s"))


def family_totals(progress: list[dict]) -> dict[str, dict[str, int]]:
    """Per problem family, its labels, accepted labels and wrong accepted labels (post hoc),
    summed over the rounds of progress.jsonl that count them and trained on their labels (a
    stopped round trained on none)."""
    totals: dict[str, dict[str, int]] = {}
    for row in progress:
        if row.get("stopped"):
            continue
        for family, counts in row.get("by_family", {}).items():
            total = totals.setdefault(family, {"labels": 0, "accepted": 0, "accepted_wrong": 0})
            for key in total:
                total[key] += counts.get(key, 0)
    return totals


def accepted_label_truth(metrics: list[dict]) -> dict[int, list[int]]:
    """Per round, [wrong, accepted] over the accepted labels of every length it labelled
    (post hoc, from the `label_accepted` rows of metrics.jsonl)."""
    truth: dict[int, list[int]] = {}
    for m in metrics:
        if m["phase"] == "self" and m["mode"] == "label_accepted":
            counts = truth.setdefault(m["round"], [0, 0])
            counts[0] += m["n"] - m["correct"]
            counts[1] += m["n"]
    return truth


def _accuracy_grid(rows: list[dict], mode: str) -> tuple[np.ndarray, list[int], list[int]]:
    rows = [r for r in rows if r["mode"] == mode and r["phase"] in ("phase1", "self")
            and r.get("suite", "uniform") == "uniform"]
    rounds = sorted({r["round"] for r in rows})
    lengths = sorted({r["digits"] for r in rows})
    grid = np.full((len(lengths), len(rounds)), np.nan)
    for r in rows:
        grid[lengths.index(r["digits"]), rounds.index(r["round"])] = r["accuracy"]
    return grid, lengths, rounds


def plot_heatmaps(rows: list[dict], path: Path) -> None:
    """FAST and SLOW-chain accuracy on uniform problems by length and round (0: after phase 1), side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    for ax, (mode, title) in zip(axes, [("fast", "FAST exact match"), ("slow", "SLOW chain exact match")]):
        grid, lengths, rounds = _accuracy_grid(rows, mode)
        if grid.size == 0:
            ax.set_axis_off()
            continue
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(rounds)), [str(r) for r in rounds])
        ax.set_yticks(range(len(lengths)), [str(d) for d in lengths])
        ax.set_xlabel("round (0 = after phase 1)")
        ax.set_ylabel("digits")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, label="accuracy")
    fig.suptitle("Accuracy by length and round (fresh problems; blank = not evaluated)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_label_error(rows: list[dict], path: Path) -> None:
    """The post-hoc error of the self-labels by length labelled, one line per labelling method."""
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for mode, name in LABEL_METHODS:
        pts = sorted((r["digits"], 1 - r["accuracy"]) for r in rows if r["mode"] == mode and r["n"] > 0)
        if pts:
            ax.plot(*zip(*pts), marker="o", label=name)
    ax.set_xlabel("digits labelled")
    ax.set_ylabel("label error rate (post hoc)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Self-label error by labelling method")
    if ax.lines:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_rounds(progress: list[dict], acc_path: Path, time_path: Path) -> None:
    """Each round's share of accepted labels (`acc_path`), and its seconds by part, by length labelled
    (`time_path`)."""
    rounds = [p for p in progress if p.get("unit") == "round"]
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    ax.bar([p["round"] for p in rounds], [p["acceptance"] for p in rounds], color="tab:green")
    ax.set_xlabel("round")
    ax.set_ylabel("accepted labels (share)")
    ax.set_ylim(0, 1)
    ax.set_title("Acceptance after S&G and the filters")
    fig.savefig(acc_path, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    xs = [p["digits"] for p in rounds]
    bottom = np.zeros(len(rounds))
    for key, name in [("label_s", "labelling"), ("train_s", "training"),
                      ("check_s", "agreement checks"), ("eval_s", "evaluation (reported only)")]:
        vals = np.array([p.get(key, 0.0) for p in rounds])
        ax.bar(xs, vals, bottom=bottom, label=name)
        bottom += vals
    ax.set_xlabel("digits labelled in the round")
    ax.set_ylabel("seconds")
    ax.set_title("Time per round")
    ax.legend()
    fig.savefig(time_path, dpi=110)
    plt.close(fig)


def plot_frontier(progress: list[dict], path: Path) -> None:
    """The length trained to after each round that trained, against the run's wall time."""
    wall, frontier, elapsed = [], [], 0.0
    for p in progress:
        elapsed += unit_seconds(p)
        if p.get("unit") == "round" and not p.get("stopped"):
            wall.append(elapsed / 60)
            frontier.append(p["digits"])
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    ax.step(wall, frontier, where="post", marker="o")
    ax.set_xlabel("wall time (minutes)")
    ax.set_ylabel("digits trained to")
    ax.set_title("Frontier against wall time")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def final_table(rows: list[dict]) -> list[str]:
    """The final evaluation, FAST by length and suite, each with its Wilson 95% interval;
    empty before it is made."""
    final = [r for r in rows if r["phase"] == "final" and r["mode"] == "fast"]
    if not final:
        return []
    suites = list(dict.fromkeys(r.get("suite", "uniform") for r in final))
    cell = {(r.get("suite", "uniform"), r["digits"]): r for r in final}
    sizes = ", ".join(f"{s} {next(r['n'] for r in final if r.get('suite', 'uniform') == s)}" for s in suites)
    lines = ["", f"Final evaluation, FAST exact match by suite (fresh problems a length: {sizes}):", "",
             "| digits | " + " | ".join(suites) + " |", "|---|" + "---|" * len(suites)]
    for d in sorted({r["digits"] for r in final}):
        shown = [f"{cell[s, d]['accuracy']:.3f} ({cell[s, d]['ci_low']:.3f}-{cell[s, d]['ci_high']:.3f})"
                 if (s, d) in cell else "—" for s in suites]
        lines.append(f"| {d} | " + " | ".join(shown) + " |")
    return lines


def plot_suites(rows: list[dict], path: Path) -> None:
    """The final evaluation's FAST accuracy by length, one line per suite."""
    final = [r for r in rows if r["phase"] == "final" and r["mode"] == "fast"]
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for suite in dict.fromkeys(r.get("suite", "uniform") for r in final):
        pts = sorted((r["digits"], r["accuracy"]) for r in final if r.get("suite", "uniform") == suite)
        ax.plot(*zip(*pts), marker="o", label=suite)
    ax.set_xlabel("digits")
    ax.set_ylabel("FAST exact match")
    ax.set_title("Final evaluation by suite (fresh problems)")
    if final:
        ax.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(run: RunDir) -> Path:
    """Draw every plot and write report.md; returns the report's path."""
    out = run.path / "report"
    out.mkdir(exist_ok=True)
    rows, progress = run.rows("metrics.jsonl"), run.rows("progress.jsonl")
    plot_heatmaps(rows, out / "accuracy_heatmap.png")
    plot_label_error(rows, out / "label_error.png")
    plot_rounds(progress, out / "acceptance.png", out / "time_per_round.png")
    plot_frontier(progress, out / "frontier.png")
    plot_suites(rows, out / "suites.png")
    summary = run.path / "summary.json"
    lines = [f"# Run report: {run.path.name}", ""]
    if summary.exists():
        s = json.loads(summary.read_text())
        bar = s.get("frontier_accuracy", 0.98)  # the oldest records in docs/runs do not carry it
        lines += [f"Frontier (FAST >= {bar:.0%} on every length 1..D, final evaluation): **{s['frontier']}** digits; "
                  f"{s['rounds']} self-training rounds; {s['wall_s'] / 60:.1f} minutes; stopped: {s['stop_reason']}.", ""]
        if s.get("strict_frontier") is not None:
            worst = s.get("worst_suite") or {}
            lines += [f"Strict frontier (also >= {bar:.0%} on the structured suites pooled, none below "
                      f"{FAMILY_FLOOR:.0%}): "
                      f"**{s['strict_frontier']}** digits; the worst suite: {worst.get('suite')} at "
                      f"{worst.get('digits')} digits, {worst.get('accuracy', 0):.3f}.", ""]
    for change in (run.state or {}).get("resumed_with", []):
        shown = ", ".join(f"{key} {old} -> {new}" for key, (old, new) in change["changed"].items())
        lines += [f"Resumed after round {change['round']} with {shown}.", ""]
    lines += ["| round | trained to | acceptance by length | FAST alone | first candidate | vote | vote + filters | filters fired | steps | label s | train s | check s | eval s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in (p for p in progress if p.get("unit") == "round"):
        e = p["label_error"]
        fired = ", ".join(f"{k} {v}" for k, v in p["filters"].items())
        err = {k: "—" if v is None else f"{v:.3f}" for k, v in e.items()}
        by_length = p.get("acceptance_by_length", {str(p["digits"]): p["acceptance"]})
        labelled = ", ".join(f"{d}: {a:.3f}" for d, a in by_length.items())
        lines.append(f"| {p['round']} | {p['digits']} | {labelled} | {err['label_fast']} | "
                     f"{err['label_slow']} | {err['label_sng']} | {err['label_accepted']} | {fired} | "
                     f"{p.get('steps', '—')} | {p['label_s']:.0f} | {p.get('train_s', 0):.0f} | "
                     f"{p.get('check_s', 0):.0f} | {p.get('eval_s', 0):.0f} |")
    for p in (p for p in progress if p.get("unit") == "anneal"):
        worst = {k: min(p[k].values(), default=None) for k in ("agreement_before", "agreement_after")}
        shown = {k: "—" if v is None else f"{v:.2f}" for k, v in worst.items()}
        lines += ["", f"Annealed ({p['steps']} steps, {p['train_s']:.0f} s): FAST against the held-out labels, "
                      f"worst length {shown['agreement_before']} before, {shown['agreement_after']} after."]
    lines += final_table(rows)
    lines += ["", "Label error is measured after the fact with the answer function; it never chooses data.", "",
              "![accuracy](accuracy_heatmap.png)", "![label error](label_error.png)",
              "![acceptance](acceptance.png)", "![time per round](time_per_round.png)", "![frontier](frontier.png)",
              "![suites](suites.png)", ""]
    atomic_write(out / "report.md", "\n".join(lines).encode())
    return out / "report.md"
