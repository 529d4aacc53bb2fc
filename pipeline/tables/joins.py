"""Several tables in, one table out: propose join keys, flag joins that would duplicate rows, join.

Headless (no streamlit). The join runs before the run is prepared, so the holdout is still split from the
joined table afterwards (the honest protocol is untouched); the target must be a column of the main table.

A join is always a left join from the main table: every main row is kept once, rows whose key has no match get
missing values for the other table's columns. A key that repeats on the other side would make main rows appear
several times (and the same row could land in both training and holdout), so such a join is refused unless the
caller resolves it: "first" keeps the first matching row per key, "mean" averages numeric columns per key (and
keeps the first value of the others).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.tables.reader import DataError

DEDUP_CHOICES = ("first", "mean")
_KEY = "__join_key__"


@dataclass
class KeyProposal:
    """One candidate key pair with the numbers that back it."""

    main_key: str
    other_key: str
    name_match: bool
    overlap: float  # share of the main table's distinct key values found in the other table
    matched_rows: float  # share of main rows (with a key) that find a match
    other_unique: bool  # the key is unique in the other table
    uniqueness: float  # distinct / non-missing key values in the other table
    duplicated_keys: int  # key values that appear more than once in the other table
    rows_before: int  # main rows
    rows_after: int  # rows a plain left join would give
    score: float = 0.0

    @property
    def growth(self) -> int:
        return self.rows_after - self.rows_before

    def describe(self) -> str:
        same = self.main_key if self.main_key == self.other_key else f"{self.main_key} = {self.other_key}"
        text = (
            f"{same}: {self.overlap:.0%} of the main key values found, {self.matched_rows:.0%} of main rows "
            f"matched, {'unique' if self.other_unique else 'not unique'} in the other table "
            f"({self.uniqueness:.0%} distinct)"
        )
        if self.growth > 0:
            text += f"; would duplicate rows: {self.rows_before:,} -> {self.rows_after:,} (+{self.growth:,})"
        return text

    def to_dict(self) -> dict:
        return {**asdict(self), "growth": self.growth}


class DuplicateJoinError(DataError):
    """A join whose key repeats on the other side (rows would grow) and no dedup was chosen."""

    def __init__(self, other: str, proposal: KeyProposal) -> None:
        self.other, self.proposal = other, proposal
        p = proposal
        super().__init__(
            f"Joining {other} on '{p.other_key}' would duplicate rows: {p.duplicated_keys:,} key values "
            f"appear more than once in {other}, so {p.rows_before:,} rows would become "
            f"{p.rows_after:,} (+{p.growth:,})."
        )


@dataclass
class JoinResult:
    frame: pd.DataFrame
    origin: dict[str, str]  # column -> the table it came from
    notes: list[str] = field(default_factory=list)
    main_name: str = ""


def normalise_name(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", str(name)).lower()


def normalise_values(s: pd.Series) -> pd.Series:
    """Key values as text, so 7, 7.0 and " 7" match; missing stays missing."""
    out = pd.Series(np.nan, index=s.index, dtype=object)
    v = s.dropna()
    if v.empty:
        return out
    if pd.api.types.is_bool_dtype(v):
        text = v.astype(str)
    elif pd.api.types.is_numeric_dtype(v):
        f = v.astype(float)
        finite = np.isfinite(f)
        if finite.all() and (f == f.round()).all():
            text = f.astype("int64").astype(str)
        else:
            text = f.astype(str)
    else:
        text = v.astype(str).str.strip()
        num = pd.to_numeric(text, errors="coerce")
        if num.notna().all() and (num == num.round()).all() and text.str.fullmatch(r"-?\d+(\.0+)?").all():
            text = num.astype("int64").astype(str)  # "7.0" and "7" in a text column
    out.loc[v.index] = text.to_numpy()
    return out


def _key_like(s: pd.Series) -> bool:
    """Columns worth trying as a key: not floats with fractions, not booleans, at least two values."""
    v = s.dropna()
    if v.nunique() < 2 or pd.api.types.is_bool_dtype(v):
        return False
    if pd.api.types.is_float_dtype(v):
        return bool(np.isfinite(v).all() and (v == v.round()).all())
    return True


def evaluate_key(
    main: pd.DataFrame, other: pd.DataFrame, main_key: str, other_key: str, _cache: dict | None = None
) -> KeyProposal:
    """The numbers for one key pair (also for a pair the user typed in)."""
    for frame, key, which in ((main, main_key, "main"), (other, other_key, "other")):
        if key not in frame.columns:
            raise DataError(
                f"Join key '{key}' is not a column of the {which} table. "
                f"Columns: {', '.join(map(str, list(frame.columns)[:20]))}."
            )
    cache = _cache if _cache is not None else {}
    mk = cache.get(("m", main_key))
    if mk is None:
        mk = cache[("m", main_key)] = normalise_values(main[main_key])
    ok = cache.get(("o", other_key))
    if ok is None:
        ok = cache[("o", other_key)] = normalise_values(other[other_key])
    m_vals, o_counts = mk.dropna(), ok.dropna().value_counts()
    m_distinct = pd.unique(m_vals)
    found = pd.Index(m_distinct).isin(o_counts.index)
    overlap = float(found.mean()) if len(m_distinct) else 0.0
    per_row = m_vals.map(o_counts)
    matched = float(per_row.notna().mean()) if len(m_vals) else 0.0
    extra = int((per_row.fillna(1) - 1).clip(lower=0).sum())
    n_other = int(o_counts.sum())
    dup = int((o_counts > 1).sum())
    uniqueness = float(len(o_counts) / n_other) if n_other else 0.0
    name_match = normalise_name(main_key) == normalise_name(other_key)
    score = overlap * (0.5 + 0.5 * uniqueness) + (0.3 if name_match else 0.0)
    return KeyProposal(
        main_key=str(main_key),
        other_key=str(other_key),
        name_match=name_match,
        overlap=overlap,
        matched_rows=matched,
        other_unique=dup == 0,
        uniqueness=uniqueness,
        duplicated_keys=dup,
        rows_before=len(main),
        rows_after=len(main) + extra,
        score=round(score, 4),
    )


def propose_keys(
    main: pd.DataFrame, other: pd.DataFrame, limit: int = 5, min_overlap: float = 0.3, exclude: tuple[str, ...] = ()
) -> list[KeyProposal]:
    """Ranked key pairs: same name (case/underscore-insensitive) or value overlap, uniqueness on the other side.

    A pair is proposed when the names match and some values overlap, or when at least `min_overlap` of the
    main table's key values are found in the other column. Best first."""
    main_cols = [c for c in main.columns[:300] if c not in exclude and _key_like(main[c])]
    other_cols = [c for c in other.columns[:300] if _key_like(other[c])]
    cache: dict = {}
    other_sets = {c: set(normalise_values(other[c]).dropna().unique()) for c in other_cols}
    proposals = []
    for mc in main_cols:
        m_norm = cache[("m", mc)] = normalise_values(main[mc])
        m_set = set(m_norm.dropna().unique())
        if not m_set:
            continue
        for oc in other_cols:
            share = len(m_set & other_sets[oc]) / len(m_set)
            same = normalise_name(mc) == normalise_name(oc)
            if same and share > 0:
                proposals.append(evaluate_key(main, other, mc, oc, cache))
            elif share >= min_overlap and len(m_set) >= 3:
                p = evaluate_key(main, other, mc, oc, cache)
                if p.uniqueness >= 0.5:  # a value-only match must look like a key on the other side
                    proposals.append(p)
    proposals.sort(key=lambda p: (-p.score, -p.overlap, p.main_key, p.other_key))
    return proposals[:limit]


def _dedup(other: pd.DataFrame, how: str) -> pd.DataFrame:
    if how == "first":
        return other.drop_duplicates(subset=[_KEY], keep="first")
    if how == "mean":
        agg = {
            c: (
                "mean"
                if pd.api.types.is_numeric_dtype(other[c]) and not pd.api.types.is_bool_dtype(other[c])
                else "first"
            )
            for c in other.columns
            if c != _KEY
        }
        return other.groupby(_KEY, sort=False, as_index=False).agg(agg) if agg else other.drop_duplicates(subset=[_KEY])
    raise DataError(f"Unknown way to resolve duplicate keys '{how}': use {' or '.join(DEDUP_CHOICES)}.")


def _suffix(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", Path(name).stem).strip("_") or "other"


def join_tables(
    main: pd.DataFrame, others: list[dict], main_name: str = "main", target: str | None = None
) -> JoinResult:
    """Left-join each other table onto the main table.

    `others`: dicts with name, frame, main_key, other_key and optionally dedup ("first" | "mean" | None).
    Raises DuplicateJoinError for a key that repeats in the other table without a dedup, DataError for a key
    that is missing or matches nothing. A column of another table named like the target is dropped (the target
    comes from the main table only); other name clashes get the other table's name as a suffix."""
    joined = main.copy()
    origin = {str(c): main_name for c in main.columns}
    notes: list[str] = []
    if target is not None and target not in main.columns:
        raise DataError(f"The target '{target}' must be a column of the main table {main_name}.")
    for spec in others:
        name, other = spec["name"], spec["frame"]
        mk, ok, how = spec["main_key"], spec["other_key"], spec.get("dedup")
        if mk not in joined.columns:
            raise DataError(f"Join key '{mk}' is not a column of the main table {main_name}.")
        if target is not None and mk == target:
            raise DataError(
                f"The join key '{mk}' is the target; joining on it would leak the target into the features."
            )
        proposal = evaluate_key(joined, other, mk, ok)
        if proposal.overlap == 0:
            raise DataError(
                f"No value of '{mk}' in {main_name} appears in '{ok}' of {name}; this key joins nothing — pick another."
            )
        if proposal.growth > 0 and not how:
            raise DuplicateJoinError(name, proposal)
        right = other.copy()
        right[_KEY] = normalise_values(right[ok])
        right = right[right[_KEY].notna()].drop(columns=[ok])
        if target is not None and target in right.columns:
            right = right.drop(columns=[target])
            notes.append(f"{name}: its column '{target}' was dropped (the target comes from the main table only).")
        if proposal.duplicated_keys and how:
            right = _dedup(right, how)
            notes.append(
                f"{name}: {proposal.duplicated_keys:,} repeated key values resolved by "
                f"{'keeping the first match' if how == 'first' else 'averaging numeric columns'}."
            )
        renames = {}
        for c in right.columns:
            if c == _KEY:
                continue
            new = str(c)
            if new in joined.columns or new in renames.values():
                base = f"{c}_{_suffix(name)}"
                new, i = base, 2
                while new in joined.columns or new in renames.values() or new in right.columns:
                    new, i = f"{base}{i}", i + 1
            renames[c] = new
        right = right.rename(columns=renames)
        if any(str(k) != v for k, v in renames.items()):
            notes.append(
                f"{name}: clashing columns renamed "
                + ", ".join(f"{k} -> {v}" for k, v in renames.items() if str(k) != v)
                + "."
            )
        left = joined.assign(**{_KEY: normalise_values(joined[mk])})
        before = len(left)
        joined = left.merge(right, how="left", on=_KEY, sort=False).drop(columns=[_KEY])
        assert len(joined) == before, "a left join on a unique key keeps the row count"
        for c in renames.values():
            origin[c] = name
        missing = int(round((1 - proposal.matched_rows) * joined[mk].notna().sum())) + int(joined[mk].isna().sum())
        notes.append(
            f"Joined {name} on {mk} = {ok}: {proposal.matched_rows:.0%} of main rows matched"
            + (f", {missing:,} rows without a match keep missing values" if missing else "")
            + "."
        )
    return JoinResult(frame=joined.reset_index(drop=True), origin=origin, notes=notes, main_name=main_name)


def check_target(result: JoinResult, target: str) -> None:
    """The target of a run on a joined table must come from the main table."""
    where = result.origin.get(target)
    if where is not None and where != result.main_name:
        raise DataError(
            f"The target '{target}' comes from {where}, not from the main table {result.main_name}; "
            "the target must be a column of the main table (name it with --target)."
        )


def save_joined(result: JoinResult, folder: Path, names: list[str]) -> Path:
    """Write the joined table as Parquet under a content hash (the run reads it like any upload)."""
    frame = result.frame.copy()
    for c in frame.columns:  # Parquet needs one type per column; mixed object columns become text
        if frame[c].dtype == object:
            kinds = {type(v) for v in frame[c].dropna().head(1000)}
            if len(kinds) > 1:
                frame[c] = frame[c].map(lambda v: v if v is None or (isinstance(v, float) and v != v) else str(v))
    data = frame.to_parquet(index=False)
    digest = hashlib.sha256(data).hexdigest()[:16]
    stem = "+".join(_suffix(n) for n in names)[:120] or "joined"
    path = Path(folder) / digest / f"{stem}.parquet"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".parquet.part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path
