"""The quality benchmark's Markdown report, computed from the results file alone.

Differences are the pipeline's score minus a comparator's, per table averaged over the seeds where every
compared tool has a result. Their standard errors come from a paired bootstrap of the test rows: for each
(table, seed), the same resampled rows (fixed RNG, so reports are reproducible) rescore every tool, so what
the tools share cancels out and only the difference's sampling noise is left. It measures how much the
test rows could have moved a difference, not how much another training run would have: the spread over
seeds shows that.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from benchmarks.tables import Table

BOOT_SEED = 20261127
REPLICATES = 200
METRIC = {"binary": "ROC AUC", "multiclass": "accuracy", "regression": "R²"}
NAMES = {"pipeline": "pipeline", "lightgbm": "LightGBM defaults", "flaml": "FLAML", "autogluon": "AutoGluon"}
Key = tuple[str, int, str]  # (table, seed, tool)


@dataclass
class TableResult:
    """One table's comparison over the seeds where every compared tool has a result."""

    table: Table
    rows: int
    seeds: list[int]
    scores: dict[str, float]
    diff: dict[str, float] = field(default_factory=dict)
    boot: dict[str, np.ndarray] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)

    def se(self, tool: str) -> float:
        return float(np.std(self.boot[tool], ddof=1))

    def z(self, tool: str) -> float:
        """The difference in units of its SE (0 where the SE is 0, e.g. identical predictions)."""
        se = self.se(tool)
        return self.diff[tool] / se if se > 0 else 0.0


def comparators(tools: list[str]) -> list[str]:
    return [t for t in tools if t != "pipeline"]


def latest(records: list[dict], budget: float) -> dict[Key, dict]:
    """One record per (table, seed, tool) at this budget: a later line supersedes an earlier one."""
    return {(r["table"], r["seed"], r["tool"]): r for r in records if float(r["budget"]) == float(budget)}


def boot_rows(table: str, seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng([BOOT_SEED, zlib.crc32(table.encode()), seed])
    return rng.integers(0, n, size=(REPLICATES, n))


def auc_rows(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of (replicates x test rows) arrays, by the rank-sum formula (ties averaged)."""
    ranks = rankdata(p, axis=1)
    pos = y.sum(axis=1)
    neg = y.shape[1] - pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * y).sum(axis=1) - pos * (pos + 1) / 2) / (pos * neg)


def replicate_scores(rec: dict, rows: np.ndarray) -> np.ndarray:
    if rec["task"] == "multiclass":
        return np.asarray(rec["correct"], dtype=float)[rows].mean(axis=1)
    y = np.asarray(rec["y"], dtype=float)[rows]
    if rec["task"] == "binary":
        return auc_rows(y, np.asarray(rec["p"], dtype=float)[rows])
    pred = np.asarray(rec["pred"], dtype=float)[rows]
    sst = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    return 1 - ((y - pred) ** 2).sum(axis=1) / sst


def complete_seeds(table: str, seeds: list[int], best: dict[Key, dict], tools: list[str]) -> list[int]:
    """Seeds where every tool scored, on the very same test rows (same split digest)."""
    keep = []
    for seed in seeds:
        recs = [best.get((table, seed, t)) for t in tools]
        if all(r is not None and r["score"] is not None for r in recs) and len({r["split"] for r in recs}) == 1:
            keep.append(seed)
    return keep


def table_result(table: Table, seeds: list[int], best: dict[Key, dict], tools: list[str]) -> TableResult:
    recs = {(s, t): best[(table.name, s, t)] for s in seeds for t in tools}
    scores = {t: float(np.mean([recs[(s, t)]["score"] for s in seeds])) for t in tools}
    result = TableResult(table, recs[(seeds[0], tools[0])]["rows"], seeds, scores)
    if "pipeline" not in tools:
        return result
    per_seed = {}
    for s in seeds:
        rows = boot_rows(table.name, s, recs[(s, "pipeline")]["test_rows"])
        per_seed[s] = {t: replicate_scores(recs[(s, t)], rows) for t in tools}
    for tool in comparators(tools):
        result.diff[tool] = scores["pipeline"] - scores[tool]
        result.boot[tool] = np.mean([per_seed[s]["pipeline"] - per_seed[s][tool] for s in seeds], axis=0)
    result.models = [recs[(s, "pipeline")].get("model", "?") for s in seeds]
    return result


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def score_row(res: TableResult, tools: list[str]) -> list[str]:
    best = max(res.scores.values())
    cells = [f"**{res.scores[t]:.4f}**" if res.scores[t] == best else f"{res.scores[t]:.4f}" for t in tools]
    row = [
        res.table.name,
        res.table.group,
        res.table.task,
        METRIC[res.table.task],
        f"{res.rows:,}",
        str(len(res.seeds)),
    ] + cells
    if "lightgbm" in res.diff:
        z = res.z("lightgbm")
        row.append(f"{res.diff['lightgbm']:+.4f} ({z:+.1f} SE){' ⚠' if z < -2 else ''}")
    if res.models:
        row.append(", ".join(f"{m} x{n}" if n > 1 else m for m, n in Counter(res.models).most_common()))
    return row


def summary_row(tool: str, results: list[TableResult]) -> list[str]:
    diffs = np.array([r.diff[tool] for r in results])
    se_mean = float(np.std(np.mean([r.boot[tool] for r in results], axis=0), ddof=1))
    z = np.array([r.z(tool) for r in results])
    worst = int(np.argmin(diffs))
    return [
        NAMES[tool],
        f"{diffs.mean():+.4f} ± {se_mean:.4f}",
        f"{np.median(diffs):+.4f}",
        f"{diffs[worst]:+.4f} ({results[worst].table.name})",
        f"{int((diffs > 0).sum())} / {int((diffs < 0).sum())} / {int((diffs == 0).sum())}",
        f"{int((z > 2).sum())} / {int((z < -2).sum())}",
    ]


def pipeline_notes(recs: list[dict], budget: float) -> list[str]:
    """Wall time against budget, failures, the engine versions and machine load behind these records."""
    notes = []
    failed = [r for r in recs if r["tool"] == "pipeline" and r["score"] is None]
    if failed:
        runs = sum(r["tool"] == "pipeline" for r in recs)
        notes.append(
            f"- ⚠ The pipeline failed in {len(failed)} of {runs} runs; those (table, seed) pairs are left "
            f"out of every comparison above."
        )
    walls = sorted((r["wall_s"] / budget, r["table"], r["seed"]) for r in recs if r["tool"] == "pipeline")
    if walls:
        top = walls[-1]
        over = sum(w > 1 for w, _, _ in walls)
        notes.append(
            f"- Pipeline wall / budget: median {np.median([w for w, _, _ in walls]):.2f}, max {top[0]:.2f} "
            f"({top[1]}, seed {top[2]}); over budget in {over} of {len(walls)} runs."
        )
        commits = Counter(r.get("commit", "?") for r in recs if r["tool"] == "pipeline")
        notes.append("- Pipeline commits: " + ", ".join(f"{c} ({n})" for c, n in commits.most_common()) + ".")
    wrong = [r for r in recs if r["tool"] == "pipeline" and r.get("pipeline_task") not in (None, r["task"])]
    for r in wrong:
        notes.append(
            f"- ⚠ The pipeline treated {r['table']} (seed {r['seed']}) as {r['pipeline_task']}, not {r['task']}."
        )
    for r in recs:
        if r["score"] is None:
            notes.append(f"- FAILED: {r['tool']} on {r['table']} seed {r['seed']}: {r['error']}")
    loads = [v for r in recs for v in (r["load_start"], r["load_end"])]
    if loads:
        notes.append(f"- Load average (1 min) around the runs: median {np.median(loads):.1f}, max {max(loads):.1f}.")
    return notes


def comparison_lines(results: list[TableResult], tools: list[str]) -> list[str]:
    lines = [
        f"Pipeline minus each comparator over {len(results)} tables (± bootstrap SE; wins / losses / ties per "
        f"table; 'beyond 2 SE' counts tables whose difference is over twice its SE):",
        "",
    ]
    header = ["pipeline minus", "mean ± SE", "median", "worst", "wins / losses / ties", "beyond 2 SE: better / worse"]
    lines += md_table(header, [summary_row(t, results) for t in comparators(tools)]) + [""]
    if "lightgbm" in tools:
        below = [
            f"{r.table.name} ({r.diff['lightgbm']:+.4f}, {r.z('lightgbm'):+.1f} SE)"
            for r in results
            if r.z("lightgbm") < -2
        ]
        lines.append("- Below LightGBM defaults by more than 2 SE: " + (", ".join(below) or "none") + ".")
    return lines


def scope_report(title: str, tables: list[Table], best: dict[Key, dict], tools: list[str], budget: float) -> list[str]:
    names = {t.name for t in tables}
    recs = [r for (table, _, tool), r in best.items() if table in names and tool in tools]
    present = [t for t in tools if any(r["tool"] == t for r in recs)]
    lines = [f"## {title}", ""]
    if not present:
        return lines + ["No results.", ""]
    results, incomplete = [], []
    for table in tables:
        seeds = sorted({r["seed"] for r in recs if r["table"] == table.name})
        keep = complete_seeds(table.name, seeds, best, present)
        incomplete += [f"{table.name} seed {s}" for s in seeds if s not in keep]
        if keep:
            results.append(table_result(table, keep, best, present))
    header = ["table", "group", "task", "metric", "rows", "seeds"] + [NAMES[t] for t in present]
    if "pipeline" in present and "lightgbm" in present:
        header.append("pipeline − LightGBM")
    if "pipeline" in present:
        header.append("pipeline model")
    lines += [
        f"{len(results)} tables, budget {budget:g} s; mean score over the seeds where every tool has a result "
        f"(best in bold).",
        "",
    ]
    lines += md_table(header, [score_row(r, present) for r in results]) + [""]
    if "pipeline" in present and len(present) > 1 and results:
        lines += comparison_lines(results, present)
    if incomplete:
        lines.append(f"- Left out (a tool has no result there, or a different split): {', '.join(incomplete)}.")
    return lines + pipeline_notes(recs, budget) + [""]


def report(records: list[dict], tables: list[Table], tools: list[str], budget: float) -> str:
    """All tables, then the dev group, then the heldout group."""
    best = latest(records, budget)
    lines = [
        f"# Quality benchmark, budget {budget:g} s",
        "",
        f"Standard errors: paired bootstrap of the test rows, {REPLICATES} replicates per (table, seed), "
        f"RNG seed {BOOT_SEED}; they cover test-row sampling, not run-to-run variation.",
        "",
    ]
    for title, scope in (
        ("All tables", tables),
        ("Dev group", [t for t in tables if t.group == "dev"]),
        ("Heldout group", [t for t in tables if t.group == "heldout"]),
    ):
        lines += scope_report(title, scope, best, tools, budget)
    return "\n".join(lines)
