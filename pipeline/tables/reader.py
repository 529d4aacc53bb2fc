"""Read any supported table into a DataFrame with one clear message per problem, and infer target/task.

Every refusal is a `DataError` whose text names the problem in words a user understands; callers
show that text and nothing else (no traceback).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.tables.decoding import decode_text, looks_binary, sniff_kind

MAX_COLUMNS = 5000
EXCEL_MAX_UNCOMPRESSED = 500 * 1024 * 1024
FAST_CSV_BYTES = 2 * 1024 * 1024
MAX_LINE_BYTES = 8 * 1024 * 1024
# pandas.read_csv's default missing-value tokens: the fast path must read gaps as the careful path does
CSV_NULL_TOKENS = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
TARGET_HINTS = (
    "target",
    "label",
    "class",
    "y",
    "outcome",
    "churn",
    "churned",
    "price",
    "survived",
    "default",
    "fraud",
    "response",
    "result",
    "score",
    "species",
    "quality",
)


class DataError(ValueError):
    """A problem with the user's data, phrased for the user."""


def _read_csv_text(text: str, ext: str) -> pd.DataFrame:
    sample = text[:100_000]
    if not sample.strip():
        raise DataError("The file is empty: it has no header and no rows.")
    delimiter = _sniff_delimiter(sample, ext)
    _refuse_mixed_delimiters(sample, delimiter)
    try:
        df = pd.read_csv(io.StringIO(text), sep=delimiter, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError("The file is empty: it has no header and no rows.") from None
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f" (near line {line.group(1)})" if line else ""
        raise DataError(
            f"The file could not be read as a table{where}: rows have different numbers of fields."
        ) from None
    return df


def _refuse_mixed_delimiters(sample: str, delimiter: str) -> None:
    """Rows split by another delimiter than the header's would land whole in the first column."""
    lines = [ln for ln in sample.splitlines()[:2000] if ln.strip() and '"' not in ln]
    if len(lines) < 3:
        return
    width = lines[0].count(delimiter)
    if width == 0:
        return
    odd = [
        ln
        for ln in lines[1:]
        if ln.count(delimiter) == 0 and any(ln.count(d) == width for d in ",;\t|" if d != delimiter)
    ]
    if len(odd) > max(1, 0.01 * len(lines)):
        other = next(d for d in ",;\t|" if d != delimiter and odd[0].count(d) == width)
        raise DataError(
            f"The file mixes delimiters: the header is split by {delimiter!r} but {len(odd):,} of the first "
            f"{len(lines) - 1:,} rows are split by {other!r}. Save it again with one delimiter."
        )


def _sniff_delimiter(sample: str, ext: str) -> str:
    if ext in (".tsv", ".tab"):
        return "\t"
    try:
        return csv.Sniffer().sniff("\n".join(sample.splitlines()[:50]), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_csv_fast(path: Path, head: bytes) -> pd.DataFrame | None:
    """Large UTF-8 CSVs go straight to pyarrow's multithreaded reader; anything unusual returns None
    so the careful path (encoding detection, clear parse errors) takes over."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    try:
        sample = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(delimiter=_sniff_delimiter(sample, path.suffix.lower()))
    try:
        with pacsv.open_csv(path, parse_options=parse, convert_options=_csv_nulls()) as reader:
            schema = reader.schema  # inferred from the first block, as the full read infers it
        table = _read_typed(path, parse, _column_types(schema, every_column=True))
        if table is None:  # a later block does not fit the first block's types: let Arrow infer and widen them
            table = _read_typed(path, parse, _column_types(schema, every_column=False))
        if table is None:
            return None
        # the plain conversion: split_blocks/self_destruct cost ~0.1 s at 1M rows and lowered the peak by under 2 %
        return table.to_pandas()
    except Exception:  # pyarrow raises its own error types for ragged rows, bad UTF-8...
        return None


def _csv_nulls():
    """Missing cells read as pandas' own reader reads them, so a large file's text columns keep their gaps."""
    import pyarrow.csv as pacsv

    return pacsv.ConvertOptions(null_values=sorted(CSV_NULL_TOKENS), strings_can_be_null=True)


def _column_types(schema, every_column: bool) -> dict:
    """Text and temporal columns arrive as pandas' own string type; with `every_column`, the first block's
    other types are fixed too, which spares Arrow inferring them again in every block (about a tenth of the
    read). Dates and times stay text, as the careful path and Parquet uploads give them: Arrow would hand
    them to pandas as one Python date object per cell, slow to encode in every fit and typed unlike small files."""
    import pyarrow as pa

    types = {}
    for field in schema:
        if pa.types.is_temporal(field.type) or pa.types.is_string(field.type):
            types[field.name] = pa.large_string()
        elif every_column and not pa.types.is_null(field.type):
            types[field.name] = field.type
    return types


def _read_typed(path: Path, parse, column_types: dict):
    """The whole file with these column types, or None when a value does not convert to its column's type."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = _csv_nulls()
    options.column_types = column_types
    try:
        return pacsv.read_csv(path, parse_options=parse, convert_options=options)
    except pa.ArrowInvalid as exc:
        if "conversion error" in str(exc).lower():
            return None
        raise


def _read_excel(path: Path) -> pd.DataFrame:
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
            if total > EXCEL_MAX_UNCOMPRESSED:
                raise DataError(
                    "The Excel file expands to more than 500 MB when unpacked; refusing it as a likely zip bomb."
                )
    except zipfile.BadZipFile:
        raise DataError("The file is named like an Excel workbook but is not a valid .xlsx file.") from None
    try:
        sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    except DataError:
        raise
    except Exception as exc:  # openpyxl raises many types for corrupt workbooks
        raise DataError(f"The Excel file could not be read: {type(exc).__name__}.") from None
    for frame in sheets.values():
        if not frame.dropna(how="all").empty:
            return frame.dropna(how="all").reset_index(drop=True)
    raise DataError("The Excel file has no sheet with data.")


def _read_json(text: str) -> pd.DataFrame:
    try:
        obj = json.loads(text)
    except RecursionError:
        raise DataError("The JSON is nested too deeply to be a table.") from None
    except json.JSONDecodeError:
        try:
            return pd.read_json(io.StringIO(text), lines=True)
        except ValueError:
            raise DataError("The JSON file is not valid JSON.") from None
    if isinstance(obj, dict):
        for key in ("data", "records", "rows"):
            if isinstance(obj.get(key), list):
                obj = obj[key]
                break
    if isinstance(obj, dict) and obj and all(isinstance(v, list) for v in obj.values()):
        lengths = {len(v) for v in obj.values()}
        if len(lengths) == 1:
            return pd.DataFrame(obj)
    if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        return pd.json_normalize(obj, max_level=1)
    raise DataError("The JSON is not tabular: expected a list of records or an object of equal-length columns.")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV, TSV, Excel, Parquet or JSON (detected by content and extension) and validate it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"No such file: {path.name}.")
    if path.is_dir():
        raise DataError(f"{path.name} is a folder, not a data file.")
    if path.stat().st_size == 0:
        raise DataError("The file is empty (0 bytes).")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    kind = sniff_kind(path, head)
    if kind == "parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:
            raise DataError(f"The Parquet file could not be read: {type(exc).__name__}.") from None
        df = _flatten_nested(df)
    elif kind == "excel":
        df = _read_excel(path)
    elif kind in ("xls", "zip"):
        raise DataError("Unsupported file: only .xlsx workbooks, CSV, TSV, Parquet and JSON are read.")
    else:
        if looks_binary(head):
            raise DataError("The file looks like binary data, not a text table (CSV/TSV/JSON).")
        if kind == "csv":
            _refuse_endless_line(path, head)
        df = _read_csv_fast(path, head) if kind == "csv" and path.stat().st_size > FAST_CSV_BYTES else None
        if df is None:
            text = decode_text(path.read_bytes())
            df = _read_json(text) if kind == "json" else _read_csv_text(text, path.suffix.lower())
    return validate_frame(df)


def _refuse_endless_line(path: Path, head: bytes) -> None:
    """A first line longer than MAX_LINE_BYTES is not a header (and would cost seconds and memory to parse)."""
    if b"\n" in head or b"\r" in head:
        return
    with open(path, "rb") as fh:
        first = fh.read(MAX_LINE_BYTES + 1)
    if len(first) > MAX_LINE_BYTES and b"\n" not in first and b"\r" not in first:
        raise DataError(
            f"The first line is longer than {MAX_LINE_BYTES >> 20} MB without a line break; "
            "this is not a table with a header row."
        )


def _flatten_nested(df: pd.DataFrame) -> pd.DataFrame:
    """Nested Parquet types (lists, structs, maps) become JSON text so the rest sees plain columns."""
    for col in df.columns:
        if (
            df[col].dtype == object
            and len(df)
            and isinstance(df[col].dropna().iloc[0] if df[col].notna().any() else None, (list, dict, np.ndarray))
        ):
            df[col] = df[col].map(
                lambda v: None if v is None else json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=str)
            )
    return df


def validate_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Refuse tables the pipeline cannot learn from; normalise column names and obvious types."""
    if df.shape[1] == 0:
        raise DataError("The file has no columns.")
    if df.shape[1] > MAX_COLUMNS:
        raise DataError(f"The table has {df.shape[1]:,} columns; at most {MAX_COLUMNS:,} are supported.")
    names = [str(c) for c in df.columns]
    blank = [i + 1 for i, n in enumerate(names) if not n.strip() or n.startswith("Unnamed: ")]
    if blank:
        raise DataError(f"Column {blank[0]} has a blank name; every column needs a header.")
    seen: dict[str, int] = {}
    dupes = []
    for n in names:
        base = re.sub(r"\.\d+$", "", n)
        if n in seen or (base != n and base in names):
            dupes.append(base)
        seen[n] = 1
    if dupes:
        raise DataError(f"Duplicate column name: '{dupes[0]}' appears more than once.")
    df.columns = names
    if len(df) == 0:
        raise DataError("The table has a header but no data rows.")
    return _coerce_numeric_text(df)


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_CURRENCY_OR_UNIT = re.compile(r"^[$€£]\s*|\s*(%|[a-zA-Z]{1,3})$")


def _strip_number_text(text: str) -> str:
    """'$1,234' -> '1234', '12 kg' -> '12', '45%' -> '45'."""
    return _CURRENCY_OR_UNIT.sub("", _THOUSANDS.sub("", text).strip())


def _mostly_numbers(texts: list[str], share: float = 0.95) -> bool:
    """Whether more than `share` of the texts are numbers once separators and units are stripped; stops at the
    first failure too many, so a column of words costs a few dozen checks."""
    allowed = int(len(texts) * (1 - share))
    failures = 0
    for text in texts:
        try:
            number = _strip_number_text(text)
            float("_" if "_" in number else number)  # float() reads "1_000"; pandas does not
        except ValueError:
            failures += 1
            if failures > allowed:
                return False
    return True


def _coerce_numeric_text(df: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns that are numbers with thousands separators or units into numbers."""
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        # the sample is checked as plain Python strings: pandas' string regexes cost ~4 ms a column here
        sample = [str(v) for v in s.iloc[:5000].dropna().iloc[:500].tolist()]
        if not sample or not _mostly_numbers(sample):
            continue
        if not pd.to_numeric(pd.Series(sample, dtype=object), errors="coerce").notna().all():
            full = s.astype(str).str.replace(_THOUSANDS, "", regex=True).str.strip()
            full = full.str.replace(_CURRENCY_OR_UNIT, "", regex=True)
            df[col] = pd.to_numeric(full.where(s.notna()), errors="coerce")
    return df


def infer_target(df: pd.DataFrame, named: str | None = None) -> str:
    """The target column: the one named, else a conventional name, else the last column."""
    if named:
        if named in df.columns:
            return named
        lowered = {c.lower(): c for c in df.columns}
        if named.lower() in lowered:
            return lowered[named.lower()]
        raise DataError(f"Target column '{named}' is not in the table. Columns: {', '.join(list(df.columns)[:20])}.")
    lowered = {c.lower().strip(): c for c in df.columns}
    for hint in TARGET_HINTS:
        if hint in lowered:
            return lowered[hint]
    return df.columns[-1]


def infer_task(y: pd.Series, requested: str = "auto") -> str:
    """binary, multiclass or regression, from the target's values unless the user said."""
    if requested and requested != "auto":
        if requested not in ("binary", "multiclass", "regression"):
            raise DataError(f"Unknown task '{requested}': use auto, binary, multiclass or regression.")
        return requested
    values = y.dropna()
    n_unique = values.nunique()
    if n_unique <= 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric:
        return "multiclass"
    numbers = values.to_numpy(dtype=float)
    integral = bool(np.all(np.isfinite(numbers)) and np.all(np.mod(numbers, 1) == 0))
    if integral and n_unique <= max(20, int(0.01 * len(values))) and n_unique <= 50:
        return "multiclass"
    return "regression"


def validate_target(df: pd.DataFrame, target: str, task: str) -> None:
    """Refuse targets nothing can be learned from, naming the problem."""
    y = df[target]
    if y.isna().all():
        raise DataError(f"The target column '{target}' is empty (all values are missing).")
    values = y.dropna()
    if values.nunique() < 2:
        raise DataError(
            f"The target column '{target}' is constant (every row is {str(values.iloc[0])!r}); there is nothing to predict."
        )
    if len(values) < 20:
        raise DataError(f"Only {len(values)} rows have a target value; at least 20 are needed.")
    if task == "regression":
        as_num = pd.to_numeric(values, errors="coerce")
        if as_num.isna().any():
            raise DataError(
                f"The target column '{target}' has non-numeric values, so it cannot be a regression target."
            )
        if not np.isfinite(as_num.to_numpy(dtype=float)).all():
            raise DataError(f"The target column '{target}' has infinite values.")
        return
    counts = values.astype(str).value_counts()
    if task == "binary" and len(counts) > 2:
        raise DataError(f"Task 'binary' was asked for but the target '{target}' has {len(counts)} classes.")
    if len(counts) > 200 or counts.size > 0.5 * len(values):
        raise DataError(
            f"The target column '{target}' has {len(counts):,} distinct values, one per row or nearly; "
            "it looks like an identifier, not a label. Choose another target or task 'regression'."
        )
    tiny = counts[counts < 2]
    if len(tiny):
        raise DataError(
            f"Class {tiny.index[0]!r} of the target '{target}' has a single row; every class needs at "
            "least 2 rows to be split into training and holdout. Remove it or merge it with another class."
        )


def feature_frame(df: pd.DataFrame, target: str) -> pd.DataFrame:
    """The raw features: everything but the target, with non-finite numbers made missing."""
    X = df.drop(columns=[target])
    for col in X.columns:
        if pd.api.types.is_float_dtype(X[col]):
            arr = X[col].to_numpy(dtype=float, copy=True)
            arr[~np.isfinite(arr) | (np.abs(arr) > 1e300)] = np.nan
            X[col] = arr
    usable = [c for c in X.columns if not X[c].isna().all()]
    if not usable:
        raise DataError(
            "Every feature column is empty (all values missing or infinite); there is nothing to learn from."
        )
    return X
