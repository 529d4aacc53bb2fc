"""Leakage checks: columns that were most likely recorded after the outcome, so new rows would not have them.

A column is a leakage suspect when, on the training rows (a sample of them on big tables),

(a) alone it predicts the target near-perfectly (a cross-validated one-column lookup scores >= LEAK_SCORE);
(b) alone it predicts the target far better than all the other columns together: better by several standard
    errors, by a material margin, and high in absolute terms (an honest table whose only signal is one column
    must not lose it, so a column that is merely the best of a weak table is never flagged);
(c) it is a near-duplicate of the target: a number correlated above NEAR_DUPLICATE with a numeric target, or a
    few-valued column that is a recoding of the class target;
(d) its missingness alone predicts the target (almost) perfectly;
(e) it is a date or time that alone predicts the target (almost) perfectly (a timestamp after the outcome);
(f) it knows the answers the other columns cannot know: on the rows where a quick model of all the other
    columns together is wrong, the column alone is right on most of them. An honest measurement fails where
    the other measurements of the same row fail (the row looks like the other class), a copy of the outcome
    with some noise does not; this catches imperfect copies of the target even when the rest of the table is
    strong.

Rules (b) and (f) need a model of the other columns: it is fitted only for the few (MAX_REST_FITS) columns that
pass an absolute bar (ALONE_BAR: balanced accuracy alone, or for a number the share of rows predicted closely),
on at most REST_ROWS rows, with a small single-threaded LightGBM, so most honest tables pay nothing. Regression
targets are compared on their ranks. Everything stops at the profiler's deadline, and the one-column checks leave
part of the time to the comparisons.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binom
from sklearn.model_selection import KFold, StratifiedKFold

from pipeline.ml import leak_scores as scores

LEAK_SCORE = 0.99  # (a): a one-column lookup this good is a leak whatever the rest of the table does
LEAK_SAMPLE = 20_000  # rows the one-column checks use
REST_ROWS = 5_000  # rows the model of the other columns is fitted on
FOLDS = 5  # for the one-column models
REST_FOLDS = 3  # for the model of the other columns (its cost, on a busy machine, decides)
MAX_CANDIDATES = 60  # columns (by association with the target) that get the one-column checks
MAX_REST_FITS = 5  # columns that get compared with a model of the other columns
REST_COLUMNS = 300  # other columns (by association) in that model
NEAR_DUPLICATE = 0.98  # (c) regression: |correlation| with the target
RECODING = 0.97  # (c) classification: balanced accuracy of a few-valued recoding of the target
MISSING_SCORE = 0.97  # (d) balanced accuracy / R² of the missingness indicator alone
DATE_SCORE = 0.97  # (e) a date alone
# (b) and (f): the column alone must be at least this good to be compared with the rest at all
ALONE_BAR = {"binary": 0.90, "multiclass": 0.90, "regression": 0.80}  # balanced accuracy; share of rows right
BEATS_BAR = {"binary": 0.93, "multiclass": 0.93, "regression": 0.85}  # (b) the bar, higher: nothing else vouches
BEATS_MARGIN = 0.10  # (b) material margin over the rest, in the same metric
BEATS_SE = 3.0  # (b) and the margin must be this many standard errors
ANSWERS_MIN_ROWS = 25  # (f) rows the rest gets wrong, at least: on small tables many of its mistakes are
# the noise of a model fitted on few rows, which an honest column need not share
ANSWERS_SHARE = 0.8  # (f) the column alone is right on this share of them (lower 95 % bound: 0.6)
ANSWERS_LOWER = 0.6
RECODING_MIN_ROWS, RECODING_LOWER = 3, 0.43  # (f) for a few-valued recoding of the classes: 3 of 3 is enough
# (a strong rest on a few hundred rows may get only three wrong: penguins' planted copy of the species)
PILED_P = 0.01  # (f) and its mistakes do not pile up on those rows (binomial test against its error
# rate on the other rows, at this level)
ONE_COLUMN_SHARE = 0.7  # of the time to the deadline, for the one-column checks (the rest: comparisons)
TWIN_AGREEMENT = 0.98  # strong columns whose one-column predictions agree this often are left out together
MISSING_MIN = 0.01  # (d) columns with between 1 % and 99 % missing values get a missingness check
RIGHT_WITHIN = 0.1  # regression: a prediction within 0.1 standard deviations of the target is right,
WRONG_BEYOND = 0.25  # and the rest is wrong beyond 0.25 (both on the target's ranks)
METRIC_NAME = {"binary": "ROC AUC", "multiclass": "balanced accuracy", "regression": "R² (of the target's ranks)"}


@dataclass
class LeakReport:
    suspects: list[dict[str, Any]] = field(default_factory=list)
    checked: int = 0
    total: int = 0
    seconds: float = 0.0
    compared: int = 0  # columns compared with a model of the other columns (rules b and f)
    not_compared: int = 0  # strong columns the time budget left uncompared
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # per column: the figures behind the verdict


# --------------------------------------------------------------------------- the check


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def find_leaks(
    X: pd.DataFrame,
    y: pd.Series,
    columns: list[Any],
    task: str,
    seed: int = 0,
    deadline: float | None = None,
    keep: list[str] | None = None,
) -> LeakReport:
    """Leakage suspects among `columns` (the profile's ColumnProfile list) of X, and for how many candidates the
    checks ran before `deadline`. Columns in `keep` are checked and reported like the others, marked as kept."""
    started = time.monotonic()
    report = LeakReport()
    if len(X) > LEAK_SAMPLE:
        idx = np.sort(np.random.default_rng(seed + 1).choice(len(X), LEAK_SAMPLE, replace=False))
        X, y = X.iloc[idx], y.iloc[idx]
    X, y = X.reset_index(drop=True), y.reset_index(drop=True)
    present = y.notna().to_numpy()
    if present.sum() < 20:
        return report
    if not present.all():
        X, y = X[present].reset_index(drop=True), y[present].reset_index(drop=True)
    kinds = {c.name: c.kind for c in columns if c.name in X.columns}
    dates = [c for c, k in kinds.items() if k == "datetime"]
    if dates:  # parsed once, as days since 1970 (parsing text dates is the slow part)
        X = X.assign(**{c: scores.numbers(X[c], "datetime") for c in dates})
    if task == "regression":
        target, n_labels = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float), 0
        if np.isnan(target).any() or np.std(target) == 0:
            return report
        # the comparisons run on the target's ranks: a few huge values would otherwise decide every R²
        ranks = (pd.Series(target).rank().to_numpy() - 0.5) / len(target)
    else:
        target, labels = pd.factorize(y.astype(str))
        n_labels = len(labels)
        if n_labels < 2:
            return report
        ranks = target
    folds = _folds(ranks, task, seed)
    lookup_folds = scores.lookup_folds(target, n_labels, seed)
    n = len(X)

    ranked = sorted((c for c in columns if c.name in kinds), key=lambda c: -(c.target_association or 0))
    missing_share = X.isna().mean()
    candidates = [
        (c.name, "boolean", "missing")
        for c in columns
        if c.name in kinds and c.kind != "constant" and MISSING_MIN <= missing_share.get(c.name, 0) <= 1 - MISSING_MIN
    ]
    candidates += [(c.name, c.kind, "value") for c in ranked if c.kind in ("numeric", "boolean", "categorical")][
        :MAX_CANDIDATES
    ]
    candidates += [(c.name, "datetime", "value") for c in columns if kinds.get(c.name) == "datetime"]
    candidates += [(c.name, "id", "value") for c in columns if kinds.get(c.name) == "id"]
    report.total = len(candidates)
    regression_bins = int(np.clip(n // 10, scores.BINS, 256))
    flagged: dict[str, dict[str, Any]] = {}
    strong: list[dict[str, Any]] = []
    label = METRIC_NAME[task]
    lookup_label = "R²" if task == "regression" else "balanced accuracy"
    # the one-column checks leave part of the time to the comparisons with the other columns
    scan_until = None if deadline is None else started + ONE_COLUMN_SHARE * max(0.0, deadline - started)
    for name, kind, what in candidates:
        if _past(scan_until):
            break
        report.checked += 1
        if name in flagged:
            continue
        x = X[name].isna().astype(float) if what == "missing" else X[name]
        detail: dict[str, Any] = {}
        report.details[_key(name, what)] = detail
        lookup = scores.single_column_score(x, y, "numeric" if what == "missing" else kind, task, seed, lookup_folds)
        detail["lookup"] = None if lookup is None else round(lookup, 4)
        if lookup is not None:
            rule = reason = None
            if what == "missing" and lookup >= MISSING_SCORE:
                rule, reason = (
                    "missingness",
                    (
                        f"whether it is empty alone predicts the target (CV {lookup_label} {lookup:.3f}): it is "
                        "probably filled in only once the outcome is known."
                    ),
                )
            elif kind == "datetime" and lookup >= DATE_SCORE:
                rule, reason = (
                    "date after the outcome",
                    (
                        f"a date that alone predicts the target (CV {lookup_label} {lookup:.3f}): probably recorded "
                        "after the outcome."
                    ),
                )
            elif what == "value" and lookup >= LEAK_SCORE:
                who = "an ID that" if kind == "id" else "a single column that"
                rule, reason = (
                    "near-perfect alone",
                    f"{who} alone predicts the target with CV {lookup_label} {lookup:.3f}.",
                )
            if reason:
                flagged[name] = {"column": name, "score": round(lookup, 4), "rule": rule, "reason": reason}
                continue
        if kind == "id":
            continue
        dup = _near_duplicate(x, target, task, n_labels, kind if what == "value" else "boolean")
        if dup is not None:
            detail["near_duplicate"] = round(dup[0], 4)
            if dup[1]:
                flagged[name] = {
                    "column": name,
                    "score": round(dup[0], 4),
                    "rule": "near-duplicate of the target",
                    "reason": dup[1],
                }
                continue
        codes = scores.binned(x, "boolean" if what == "missing" else kind, regression_bins if n_labels == 0 else 0)
        if codes is None:
            continue
        oof = scores.one_column_oof(codes, ranks, n_labels, folds)
        alone = scores.fold_scores(ranks, oof, task, folds)
        # the bar: balanced accuracy for classes (an honest graded predictor reaches a high AUC with overlapping
        # classes; a noisy copy of the target has an AUC no higher than its accuracy); for numbers the share of
        # rows predicted within RIGHT_WITHIN (an R² is decided by the few rows of a noisy copy that are far off)
        bar = (
            float(scores.right(ranks, oof, task, RIGHT_WITHIN).mean())
            if n_labels == 0
            else float(scores.fold_scores(ranks, oof, "multiclass", folds).mean())
        )
        detail.update(alone=round(float(alone.mean()), 4), bar=round(bar, 4))
        if bar >= ALONE_BAR[task]:
            strong.append(
                {"bar": bar, "name": name, "what": what, "oof": oof, "recoding": bool(dup is not None and dup[2])}
            )

    # (b) and (f): the strongest few against a model of every other column
    strong.sort(key=lambda s: (-round(s["bar"], 2), s["what"] != "missing"))
    seen: set[str] = set()
    strong = [s for s in strong if not (s["name"] in seen or seen.add(s["name"]))]
    rest_rows = np.arange(n)
    if n > REST_ROWS:
        rest_rows = np.sort(np.random.default_rng(seed + 2).choice(n, REST_ROWS, replace=False))
    sub_t = ranks[rest_rows]
    # the other columns, by association with the target (a very wide table gives the rest its strongest ones)
    rest_order = [c.name for c in ranked if c.kind in ("numeric", "boolean", "categorical")]
    rest_order += [c for c in dates if c not in rest_order]
    sub_folds = _folds(sub_t, task, seed, REST_FOLDS)
    queue = strong[:MAX_REST_FITS]
    for i, cand in enumerate(queue):
        name, what, oof = cand["name"], cand["what"], cand["oof"]
        if name in flagged:
            continue
        if _past(deadline):
            report.not_compared = sum(c["name"] not in flagged for c in queue[i:])
            break
        alone_right = scores.right(ranks, oof, task, RIGHT_WITHIN)
        # left out of the rest with the column: flagged columns, and strong ones that say the same thing row by row
        # (two copies of one post-outcome field would each hide the other)
        twins = {
            s["name"]
            for s in strong
            if s["name"] != name
            and (scores.right(ranks, s["oof"], task, RIGHT_WITHIN) == alone_right).mean() >= TWIN_AGREEMENT
        }
        others = [c for c in rest_order if c != name and c not in flagged and c not in twins][:REST_COLUMNS]
        try:
            rest = scores.rest_oof(
                scores.rest_matrix(X.iloc[rest_rows][others], kinds), sub_t, task, n_labels, sub_folds, seed, deadline
            )
        except scores.LeakCheckOutOfTime:
            report.not_compared = sum(c["name"] not in flagged for c in queue[i:])
            break
        report.compared += 1
        verdict = _compare(oof[rest_rows], rest, sub_t, task, sub_folds, cand["bar"], cand["recoding"])
        report.details[_key(name, what)].update(verdict, left_out=sorted(twins))
        subject = "whether it is empty" if what == "missing" else "alone it"
        rest_score, alone_score = verdict["rest"], verdict["alone_sub"]
        if verdict["beats"]:
            figures = (
                f"CV {label} {alone_score:.3f} against {rest_score:.3f}"
                if task != "regression"
                else f"in CV it is within a tenth of a standard deviation of the target on {alone_score:.0%} of "
                f"the rows, the other columns on {rest_score:.0%}; {label} {verdict['alone_r2']:.2f} against "
                f"{verdict['rest_r2']:.2f}"
            )
            flagged[name] = {
                "column": name,
                "score": round(alone_score, 4),
                "rest_score": round(rest_score, 4),
                "rule": "beats all other columns",
                "reason": (
                    f"{subject} predicts the target far better than all the other columns "
                    f"together ({figures}; {verdict['apart']:.0f} standard errors apart): most "
                    "likely a field recorded after the outcome."
                ),
            }
        elif verdict["answers"]:
            wrong, fixed = verdict["rest_wrong"], verdict["fixed"]
            missed, hit = ("are far off", "close") if task == "regression" else ("get wrong", "right")
            flagged[name] = {
                "column": name,
                "score": round(alone_score, 4),
                "rest_score": round(rest_score, 4),
                "rule": "knows what the other columns cannot",
                "reason": (
                    f"{subject} predicts the target with CV {label} {alone_score:.3f}, and on the "
                    f"{wrong} rows where all the other columns together {missed} it is {hit} "
                    f"{fixed} times ({fixed / wrong:.0%}). Honest measurements of a row fail "
                    "together on the hard rows; a copy of the outcome does not, so this is most "
                    "likely a field recorded after the outcome."
                ),
            }
    keep = set(keep or [])
    for name, suspect in flagged.items():
        suspect["kept"] = name in keep
        report.suspects.append(suspect)
    report.seconds = time.monotonic() - started
    return report


def _key(name: str, what: str) -> str:
    return f"{name} (missingness)" if what == "missing" else name


def _compare(
    alone: np.ndarray, rest: np.ndarray, target: np.ndarray, task: str, folds, bar: float, recoding: bool = False
) -> dict[str, Any]:
    """Rules (b) and (f) for one column: its one-column out-of-fold predictions against the rest's. A few-valued
    recoding of the classes needs less evidence for (f): on a small table the rest may get only a handful of rows
    wrong, and a discrete column that maps onto the classes and fixes them is the usual shape of an outcome field."""
    alone_right = scores.right(target, alone, task, RIGHT_WITHIN)
    if task == "regression":
        # the share of rows predicted closely: the R² of a noisy copy hangs on its few far-off rows
        rest_close = scores.right(target, rest, task, RIGHT_WITHIN)
        rest_scores = np.array([rest_close[va].mean() for _, va in folds])
        alone_scores = np.array([alone_right[va].mean() for _, va in folds])
    else:
        rest_scores = scores.fold_scores(target, rest, task, folds)
        alone_scores = scores.fold_scores(target, alone, task, folds)
    diff = alone_scores - rest_scores
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
    rest_wrong = ~scores.right(target, rest, task, WRONG_BEYOND)
    fixed, wrong = int((alone_right & rest_wrong).sum()), int(rest_wrong.sum())
    lower = scores.wilson_lower(fixed, wrong)
    # a copy of the outcome errs as often where the rest is right as where it is wrong; an honest column errs
    # mostly where the rest does: its mistakes pile up on the rows the rest gets wrong
    err_easy = float(1.0 - alone_right[~rest_wrong].mean()) if (~rest_wrong).any() else 1.0
    piled = float(binom.sf(wrong - fixed - 1, wrong, max(err_easy, 0.005))) if wrong else 1.0
    beats = bool(diff.mean() >= BEATS_MARGIN and diff.mean() >= BEATS_SE * se and bar >= BEATS_BAR[task])
    # (f) is for a strong rest: where the column is far ahead of the rest, only (b) and its higher bar decide (an
    # honest column is independent of weak, unrelated other columns too, and would "fix" their mistakes)
    close = diff.mean() < BEATS_MARGIN
    min_rows, min_lower = (RECODING_MIN_ROWS, RECODING_LOWER) if recoding else (ANSWERS_MIN_ROWS, ANSWERS_LOWER)
    answers = bool(
        close and wrong >= min_rows and fixed / wrong >= ANSWERS_SHARE and lower >= min_lower and piled >= PILED_P
    )
    out = {
        "rest": float(rest_scores.mean()),
        "alone_sub": float(alone_scores.mean()),
        "se": round(se, 4),
        "apart": float(diff.mean() / se) if se > 0 else float("inf"),
        "rest_wrong": wrong,
        "fixed": fixed,
        "fixed_lower": round(lower, 4),
        "err_easy": round(err_easy, 4),
        "err_hard": round(1.0 - fixed / wrong, 4) if wrong else None,
        "errors_piled_p": round(piled, 4),
        "beats": beats,
        "answers": answers,
    }
    if task == "regression":
        out.update(
            rest_r2=float(scores.fold_scores(target, rest, task, folds).mean()),
            alone_r2=float(scores.fold_scores(target, alone, task, folds).mean()),
        )
    return out


def _folds(target: np.ndarray, task: str, seed: int, folds: int = FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    if task == "regression":
        return list(KFold(folds, shuffle=True, random_state=seed).split(target))
    smallest = int(np.bincount(target).min())
    k = max(2, min(folds, smallest))
    splitter = (
        StratifiedKFold(k, shuffle=True, random_state=seed)
        if smallest >= 2
        else KFold(k, shuffle=True, random_state=seed)
    )
    return list(splitter.split(target, target))


def _near_duplicate(
    x: pd.Series, target: np.ndarray, task: str, n_labels: int, kind: str
) -> tuple[float, str, bool] | None:
    """(c): how close the column is to a copy of the target, a reason when it is a near-duplicate, and whether it is
    a few-valued column whose values map onto the classes (a recoding, if a noisy one)."""
    if task == "regression":
        if kind not in ("numeric", "boolean"):
            return None
        values = scores.numbers(x, kind)
        mask = ~np.isnan(values)
        if mask.sum() < 10 or np.std(values[mask]) == 0:
            return None
        a, b = values[mask], target[mask]
        pearson = float(abs(np.corrcoef(a, b)[0, 1]))
        spearman = float(abs(pd.Series(a).rank().corr(pd.Series(b).rank())))
        r = max(pearson, spearman)
        if mask.mean() >= 0.5 and r >= NEAR_DUPLICATE:
            return (
                r,
                (
                    f"a near-duplicate of the target (correlation {r:.3f} with it): probably the outcome itself "
                    "under another name, or computed from it."
                ),
                False,
            )
        return r, "", False
    if kind not in ("numeric", "boolean", "categorical"):
        return None
    codes, distinct = pd.factorize(x, use_na_sentinel=False)
    if len(distinct) > max(2 * n_labels, n_labels + 3):
        return None
    table = np.bincount(codes * n_labels + target, minlength=len(distinct) * n_labels).reshape(len(distinct), n_labels)
    guess = table.argmax(1)[codes]
    score = scores.balanced_accuracy(target, guess, n_labels)
    covers = len(set(table.argmax(1))) == n_labels  # every class has a value of its own
    if covers and score >= RECODING:
        return (
            score,
            (
                f"a recoding of the target: its {len(distinct)} values map onto the classes with balanced "
                f"accuracy {score:.3f}; probably the outcome itself under another name."
            ),
            True,
        )
    return score, "", covers
