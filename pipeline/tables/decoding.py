"""What kind of file a table is, and its bytes as text: the encodings spreadsheets and exports actually use."""

from __future__ import annotations

from pathlib import Path


def sniff_kind(path: Path, head: bytes) -> str:
    """parquet, excel, xls, zip, json or csv: from the first bytes, then the file name."""
    ext = path.suffix.lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel" if ext in (".xlsx", ".xlsm", ".xls", "") else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if ext in (".parquet", ".pq"):
        return "parquet"
    if ext in (".xlsx", ".xlsm", ".xls"):
        return "excel"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if ext in (".json", ".jsonl", ".ndjson") or stripped[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def utf16_without_bom(raw: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte of ASCII-heavy text is NUL."""
    head = raw[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16, then the usual single-byte export encodings."""
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(enc, errors="replace")
    wide = utf16_without_bom(raw)
    if wide:
        return raw.decode(wide, errors="replace")
    for enc in ("utf-8", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(raw[:2_000_000]).best()
        if best is not None and best.encoding:
            return raw.decode(best.encoding, errors="replace")
    except ImportError:
        pass
    return raw.decode("latin-1")


def looks_binary(head: bytes) -> bool:
    """NUL bytes or many control characters in the first 4 KB (UTF-16 text excepted)."""
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff")) or utf16_without_bom(head):
        return False
    if b"\x00" in head[:4096]:
        return True
    control = sum(1 for b in head[:4096] if b < 9 or 13 < b < 32)
    return control > len(head[:4096]) * 0.05
