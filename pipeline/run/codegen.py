"""The one seam between brains and the sandbox.

Generated code (from any brain) is wrapped in a trusted harness that does the file I/O, checked,
executed in a fresh sandbox child, validated, and recorded in the run's `code/` folder. When it
fails, the brain is asked for a repair; when repairs run out, the offline brain's code is used.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sandbox
from pipeline.brains.base import Brain, CodeFailure, FeatureRequest, PlotRequest
from pipeline.theme import rc_params

SNIPPET_TIMEOUT_S = 120
SNIPPET_MEMORY_MB = 2048
STYLE_CALLS = {
    "set_theme",
    "set_style",
    "set_palette",
    "set_context",
    "set",
    "use",
    "rc",
    "rcdefaults",
    "reset_defaults",
    "reset_orig",
    "set_color_codes",
}

FEATURE_HARNESS = '''
import json
import numpy as np
import pandas as pd

def _check(out, n, label):
    if not isinstance(out, pd.DataFrame):
        raise TypeError("transform must return a pandas DataFrame, got " + type(out).__name__)
    if len(out) != n:
        raise ValueError("transform changed the row count on the " + label + " rows: " + str(n) + " in, " + str(len(out)) + " out")
    if len(set(map(str, out.columns))) != out.shape[1]:
        raise ValueError("transform returned duplicate column names")
    return out.reset_index(drop=True)

train = pd.read_parquet("train_X.parquet")
out = _check(user["transform"](train.copy()), len(train), "training")
out.columns = [str(c) for c in out.columns]
k = min(len(train), 64)
head = _check(user["transform"](train.head(k).copy()), k, "first")
head.columns = [str(c) for c in head.columns]
def _same_rows(a, b):
    """Whether two frames hold the same values (numbers within float noise, missing where missing)."""
    if list(a.columns) != list(b.columns):
        return False
    cells = bad = 0
    for col in a.columns:
        x, y = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        xn, yn = x.isna().to_numpy(), y.isna().to_numpy()
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xv, yv = x.to_numpy(dtype=float, na_value=np.nan), y.to_numpy(dtype=float, na_value=np.nan)
            equal = np.isclose(xv, yv, rtol=1e-7, atol=1e-12, equal_nan=True)
        else:
            equal = (xn & yn) | (~xn & ~yn & (x.astype(object).astype(str).to_numpy() == y.astype(object).astype(str).to_numpy()))
        cells += len(equal)
        bad += int((~equal).sum())
    return bad <= 0.001 * max(cells, 1)

same = _same_rows(out.head(k), head)
out.to_parquet("features_train.parquet")
extra = {}
for name in EXTRA_INPUTS:
    frame = pd.read_parquet(name + ".parquet")
    res = _check(user["transform"](frame.copy()), len(frame), name)
    res.columns = [str(c) for c in res.columns]
    res.to_parquet("features_" + name + ".parquet")
required = list(train.columns)
if FIND_REQUIRED and same and train.shape[1] <= 300:
    required = []
    for col in train.columns:
        try:
            alone = user["transform"](train.head(k).drop(columns=[col]).copy())
            alone.columns = [str(c) for c in alone.columns]
            if not _same_rows(alone, head):
                required.append(col)
        except Exception:
            required.append(col)
meta = {"columns": list(out.columns), "required": required, "dtypes": {c: str(t) for c, t in out.dtypes.items()},
        "rowwise": same, "shape": [int(out.shape[0]), int(out.shape[1])]}
with open("features_meta.json", "w") as fh:
    json.dump(meta, fh)
'''

PLOT_HARNESS = """
import json
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

sns.set_theme(style="darkgrid", palette=PALETTE, rc=RC)
df = pd.read_parquet("plot_sample.parquet")
made = user["make_plots"](df, TARGET, TASK)
manifest = []
for i, item in enumerate(made or []):
    name, fig, insight = item[0], item[1], (item[2] if len(item) > 2 else "")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))[:60] or "plot"
    fname = "%02d_%s.png" % (i + 1, safe)
    fig.savefig(fname, dpi=150, bbox_inches="tight")
    plt.close(fig)
    manifest.append({"name": safe, "title": str(name).replace("_", " ").title(), "file": fname, "insight": str(insight)[:400]})
with open("plots.json", "w") as fh:
    json.dump(manifest, fh)
"""


class _StyleStripper(ast.NodeTransformer):
    """Removes theme/style calls and rcParams writes so generated plots keep the app's look."""

    def _is_style_call(self, node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STYLE_CALLS
            and isinstance(node.func.value, (ast.Name, ast.Attribute))
            and _dotted(node.func.value).split(".")[0] in ("sns", "seaborn", "plt", "matplotlib", "mpl", "style")
        )

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if self._is_style_call(node.value):
            return ast.copy_location(ast.Pass(), node)
        return self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if any("rcParams" in _dotted(t.value if isinstance(t, ast.Subscript) else t) for t in node.targets):
            return ast.copy_location(ast.Pass(), node)
        return self.generic_visit(node)

    def visit_With(self, node: ast.With) -> ast.AST:
        node.items = [
            i
            for i in node.items
            if not (
                isinstance(i.context_expr, ast.Call)
                and isinstance(i.context_expr.func, ast.Attribute)
                and i.context_expr.func.attr in ("rc_context", "axes_style", "context", "plotting_context")
            )
        ]
        if not node.items:
            return [self.generic_visit(stmt) for stmt in node.body]  # type: ignore[return-value]
        return self.generic_visit(node)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return _dotted(node.value) + "." + node.attr
    return ""


def sanitise_plot_code(code: str) -> str:
    """Strip style overrides from plot code; code that does not parse is returned as is (the check reports it)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    tree = ast.fix_missing_locations(_StyleStripper().visit(tree))
    return ast.unparse(tree)


def strip_fences(text: str) -> str:
    """Code fenced in markdown (```python ... ```) is reduced to the code."""
    text = text.strip()
    if "```" in text:
        import re

        blocks = re.findall(r"```(?:python|py)?\s*\n(.*?)```", text, flags=re.S)
        if blocks:
            return max(blocks, key=len)
    return text


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


@dataclass
class CodeOutcome:
    ok: bool
    code: str
    source: str
    workdir: Path
    error: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)


class CodeRunner:
    """Runs generated snippets for one run: sequenced file names, cancellation, a log of every attempt."""

    def __init__(
        self,
        run_dir: Path,
        record: Callable[[dict[str, Any]], None],
        timeout_s: float = SNIPPET_TIMEOUT_S,
        memory_mb: int = SNIPPET_MEMORY_MB,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.code_dir = self.run_dir / "code"
        self.code_dir.mkdir(parents=True, exist_ok=True)
        self.record = record
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._seq = 0
        self._lock = threading.Lock()
        self._current: sandbox.Executor | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        with self._lock:
            if self._current is not None:
                self._current.cancel()

    def execute(
        self,
        kind: str,
        iteration: int,
        attempt: int,
        source: str,
        code: str,
        harness: str,
        workdir: Path,
        timeout_s: float | None = None,
    ) -> tuple[sandbox.ExecResult | None, dict[str, Any]]:
        """Check and run one snippet in `workdir`, save it under code/, and log the outcome."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        stem = f"{seq:02d}_{kind}_it{iteration}_try{attempt}"
        (self.code_dir / f"{stem}.py").write_text(code)
        check = sandbox.check(code)
        entry: dict[str, Any] = {
            "seq": seq,
            "kind": kind,
            "iteration": iteration,
            "attempt": attempt,
            "source": source,
            "file": f"code/{stem}.py",
            "check_ok": check.ok,
            "check_errors": check.errors[:10],
            "run_ok": None,
            "error_type": "",
            "error": "",
            "duration_s": 0.0,
            "stdout": "",
            "isolation": "",
        }
        result = None
        if check.ok and not self.cancelled:
            executor = sandbox.Executor(
                workdir, timeout_s=min(timeout_s or self.timeout_s, self.timeout_s), memory_mb=self.memory_mb
            )
            with self._lock:
                self._current = executor
            try:
                result = executor.run(code, harness=harness)
            finally:
                with self._lock:
                    self._current = None
            entry.update(
                run_ok=result.ok,
                error_type=result.error_type or "",
                error=(result.error or "")[:2000],
                duration_s=round(result.duration_s, 3),
                stdout=(result.stdout or "")[-2000:],
                isolation=getattr(result, "isolation", ""),
            )
        elif not check.ok:
            entry.update(run_ok=False, error_type="PolicyViolation", error="; ".join(check.errors[:5]))
        _write_json(self.code_dir / f"{stem}.json", entry)
        self.record(entry)
        return result, entry

    def generate(
        self,
        kind: str,
        iteration: int,
        request: FeatureRequest | PlotRequest,
        brain: Brain,
        make_harness: Callable[[], str],
        inputs: dict[str, Path],
        validate: Callable[[Path, str], str | None],
        timeout_s: float | None = None,
    ) -> CodeOutcome:
        """Ask `brain` for code, run it, ask it to repair failures (up to its `repair_attempts`), and run its
        `fallback`'s code (the offline brain's) if it still fails."""
        write = (lambda b: b.feature_code(request)) if kind == "features" else (lambda b: b.plot_code(request))
        attempts: list[dict[str, Any]] = []
        brains = [brain] if brain.fallback is None else [brain, brain.fallback]
        last_error = ""
        for b_index, current in enumerate(brains):
            source = current.name + ("-fallback" if b_index else "")
            try:
                code = strip_fences(write(current))
            except Exception as exc:  # a brain that cannot answer is a failed attempt, not a crash
                last_error = f"{type(exc).__name__}: {exc}"[:500]
                attempts.append({"source": source, "stage": "generate", "error": last_error})
                continue
            tries = 1 + (current.repair_attempts if b_index == 0 else 0)
            for attempt in range(1, tries + 1):
                if self.cancelled:
                    return CodeOutcome(False, code, source, Path(), "cancelled", attempts)
                if kind == "plots":
                    code = sanitise_plot_code(code)
                workdir = self.run_dir / "work" / f"{kind}_it{iteration}_{source}_{attempt}"
                if workdir.exists():
                    sandbox.remove_tree(workdir)
                workdir.mkdir(parents=True)
                for name, path in inputs.items():
                    _link_or_copy(path, workdir / name)
                result, entry = self.execute(kind, iteration, attempt, source, code, make_harness(), workdir, timeout_s)
                stage, error = "", ""
                if not entry["check_ok"]:
                    stage, error = "check", entry["error"]
                elif result is None:
                    stage, error = "run", "cancelled"
                elif not result.ok:
                    stage, error = "run", f"{result.error_type}: {result.error}"
                else:
                    problem = validate(workdir, code)
                    if problem:
                        stage, error = "validate", problem
                entry_summary = {
                    "source": source,
                    "attempt": attempt,
                    "stage": stage or "ok",
                    "error": error,
                    "file": entry["file"],
                }
                attempts.append(entry_summary)
                if not stage:
                    return CodeOutcome(True, code, source, workdir, "", attempts)
                last_error = error
                if attempt < tries:
                    try:
                        fixed = current.repair_code(CodeFailure(kind, code, stage, error), request)
                    except Exception as exc:
                        attempts.append(
                            {"source": source, "stage": "repair", "error": f"{type(exc).__name__}: {exc}"[:300]}
                        )
                        fixed = None
                    if not fixed:
                        break
                    code = strip_fences(fixed)
        return CodeOutcome(False, "", "", Path(), last_error or "no code", attempts)


def feature_harness(extra_inputs: list[str], find_required: bool = True) -> str:
    """The harness around `transform`: also the other inputs' features, and (unless `find_required` is off, for
    code already validated) which raw columns the code really needs."""
    return f"EXTRA_INPUTS = {extra_inputs!r}\nFIND_REQUIRED = {find_required!r}\n" + FEATURE_HARNESS


def plot_harness(target: str, task: str, palette: list[str]) -> str:
    return f"PALETTE = {palette!r}\nRC = {rc_params(True)!r}\nTARGET = {target!r}\nTASK = {task!r}\n" + PLOT_HARNESS


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def target_referenced(code: str, target: str) -> bool:
    """Whether feature code names the target column in a string literal (it must never use it)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value == target for n in ast.walk(tree))
