"""The join wizard: several uploaded files become one table, with proposed keys the user can change."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ui.runner import home
from ui.text import md_escape
from ui.uploads import read_preview

DEDUP_LABELS = {
    "first": "Keep the first matching row per key",
    "mean": "Average numeric columns per key",
    "skip": "Leave this file out",
}


@st.cache_data(show_spinner=False, max_entries=32)
def _proposals(main_path: str, other_path: str, mtimes: tuple[float, float]) -> list[dict[str, Any]]:
    from pipeline.tables.joins import propose_keys

    return [p.to_dict() for p in propose_keys(read_preview(Path(main_path)), read_preview(Path(other_path)))]


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluate(main_path: str, other_path: str, mk: str, ok: str, mtimes: tuple[float, float]) -> dict[str, Any]:
    from pipeline.tables.joins import evaluate_key

    return evaluate_key(read_preview(Path(main_path)), read_preview(Path(other_path)), mk, ok).to_dict()


@st.cache_data(show_spinner=False, max_entries=16)
def _joined(
    main: tuple[str, str], specs: tuple[tuple[str, str, str, str, str], ...], mtimes: tuple[float, ...]
) -> tuple[str, dict[str, str], list[str]]:
    """Join and write the Parquet the run reads (content-hashed under uploads/); returns (path, origin, notes)."""
    from pipeline.tables.joins import join_tables, save_joined

    others = [
        {"name": name, "frame": read_preview(Path(p)), "main_key": mk, "other_key": ok, "dedup": how or None}
        for p, name, mk, ok, how in specs
    ]
    result = join_tables(read_preview(Path(main[0])), others, main_name=main[1])
    path = save_joined(result, home() / "uploads", [main[1]] + [s[1] for s in specs])
    return str(path), result.origin, result.notes


def _proposal_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "main key": [r["main_key"] for r in rows],
            "other key": [r["other_key"] for r in rows],
            "same name": [r["name_match"] for r in rows],
            "overlap": [f"{r['overlap']:.0%}" for r in rows],
            "rows matched": [f"{r['matched_rows']:.0%}" for r in rows],
            "unique in other": [r["other_unique"] for r in rows],
            "distinct": [f"{r['uniqueness']:.0%}" for r in rows],
            "rows after join": [f"{r['rows_after']:,}" for r in rows],
        }
    )


def choose_joins(files: list[tuple[Path, str]]) -> tuple[Path | None, str, list[str] | None]:
    """Several uploads: pick the main table, confirm or edit the proposed key per other file, resolve duplicates.

    Returns (joined Parquet path, display name, the main table's columns) or (None, "", None) while a join is
    blocked (a key that would duplicate rows and no resolution, a key that matches nothing, an unreadable file)."""
    from pipeline.tables.reader import DataError

    st.markdown("##### Join the tables")
    names = [name for _, name in files]
    by_name = dict(zip(names, [p for p, _ in files]))
    main_name = st.selectbox("Main table (holds the target; every one of its rows is kept)", names, key="join_main")
    main_path = by_name[main_name]
    try:
        main_cols = [str(c) for c in read_preview(main_path).columns]
    except DataError as exc:
        st.error(f"**Cannot read {md_escape(main_name)}:** {md_escape(exc)}", icon=":material/description:")
        return None, "", None
    specs, blocked = [], False
    for other_path, other_name in files:
        if other_name == main_name:
            continue
        ident = hashlib.sha1(f"{main_path}|{other_path}".encode()).hexdigest()[:10]
        mtimes = (main_path.stat().st_mtime, other_path.stat().st_mtime)
        with st.container(border=True):
            st.markdown(f"**{md_escape(other_name)}** → {md_escape(main_name)}")
            try:
                other_cols = [str(c) for c in read_preview(other_path).columns]
            except DataError as exc:
                st.error(f"**Cannot read this file:** {md_escape(exc)}", icon=":material/description:")
                blocked = True
                continue
            proposals = _proposals(str(main_path), str(other_path), mtimes)
            if proposals:
                st.caption("Proposed keys, best first (overlap: share of the main table's key values found here):")
                st.dataframe(_proposal_table(proposals), hide_index=True, width="stretch")
                top = proposals[0]
            else:
                st.caption("No key proposed: no column pair shares enough values. Pick the keys below.")
                top = {"main_key": main_cols[0], "other_key": other_cols[0]}
            a, b = st.columns(2)
            mk = a.selectbox(
                f"Key in {main_name}", main_cols, index=main_cols.index(top["main_key"]), key=f"join_mk_{ident}"
            )
            ok = b.selectbox(
                f"Key in {other_name}", other_cols, index=other_cols.index(top["other_key"]), key=f"join_ok_{ident}"
            )
            p = _evaluate(str(main_path), str(other_path), mk, ok, mtimes)
            st.caption(
                f"{p['overlap']:.0%} of the main key values found, {p['matched_rows']:.0%} of main rows "
                f"matched (the others keep missing values), key "
                f"{'unique' if p['other_unique'] else 'not unique'} here ({p['uniqueness']:.0%} distinct)."
            )
            how = ""
            if p["overlap"] == 0:
                st.error(
                    "**This key joins nothing:** no main key value appears here. Pick other keys.",
                    icon=":material/link_off:",
                )
                blocked = True
                continue
            if p["rows_after"] > p["rows_before"]:
                st.warning(
                    f"**Duplicate rows:** {p['duplicated_keys']:,} key values repeat in "
                    f"{md_escape(other_name)}, so joining on {md_escape(ok)} would turn "
                    f"{p['rows_before']:,} rows into {p['rows_after']:,} (+{p['rows_after'] - p['rows_before']:,}). "
                    "Choose how to resolve it before running.",
                    icon=":material/warning:",
                )
                how = (
                    st.selectbox(
                        "Resolve duplicate keys",
                        list(DEDUP_LABELS),
                        index=None,
                        format_func=DEDUP_LABELS.get,
                        key=f"join_dup_{ident}",
                        placeholder="Choose, or pick a unique key above",
                    )
                    or ""
                )
                if not how:
                    blocked = True
                    continue
            if how != "skip":
                specs.append((str(other_path), other_name, mk, ok, how))
    if blocked:
        st.info("Resolve the joins above to preview the joined table and run.", icon=":material/block:")
        return None, "", None
    if not specs:
        return main_path, main_name, main_cols
    mtimes = tuple(Path(p).stat().st_mtime for p in [str(main_path)] + [s[0] for s in specs])
    try:
        path, _origin, notes = _joined((str(main_path), main_name), tuple(specs), mtimes)
    except DataError as exc:
        st.error(f"**Cannot join:** {md_escape(exc)}", icon=":material/error:")
        return None, "", None
    for note in notes:
        st.caption(md_escape(note))
    keys = {s[2] for s in specs}  # the target comes from the main table, and is not a join key
    return Path(path), " + ".join([main_name] + [s[1] for s in specs]), [c for c in main_cols if c not in keys]
