"""Campaign targets as CSV: read an upload (RFC 4180, a header row), write the results.

The upload arrives as UTF-8 text (``decoding`` refused other bytes). A ``number`` column (or
``target`` / ``phone``) holds the number; every other column becomes a metadata string. Written
cells that a spreadsheet would run as a formula (``= + - @`` and tab/CR first) get a leading ``'``
(OWASP "CSV injection"), except the E.164 number, which is ours.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from audiocodes_endpoint.features.outbound.campaign_settings import MAX_TARGETS

NUMBER_COLUMNS = ("number", "target", "phone")
MAX_COLUMNS = 50
MAX_FIELD_CHARS = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CsvRefused(ValueError):
    """The CSV cannot be read as a target list; the message says where and why."""


def parse(text: str) -> list[dict[str, Any]]:
    """``[{"target": ..., "metadata": {...}}]`` from CSV text with a header row."""
    if "\x00" in text:
        raise CsvRefused("the CSV holds a NUL byte")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        rows = _rows(reader)
    except csv.Error as error:
        raise CsvRefused(f"line {reader.line_num}: {error}") from None
    if not rows:
        raise CsvRefused("the CSV is empty: it needs a header row and at least one target")
    header, number_column = _header(rows[0])
    targets = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are not targets
        if len(row) > len(header):
            raise CsvRefused(f"row {line}: {len(row)} fields for {len(header)} columns")
        cells = row + [""] * (len(header) - len(row))
        metadata = {name: cells[i] for i, name in enumerate(header) if i != number_column}
        targets.append({"target": cells[number_column].strip(), "metadata": metadata, "row": line})
    if not targets:
        raise CsvRefused("the CSV has a header row but no targets")
    return targets


def _header(row: list[str]) -> tuple[list[str], int]:
    """The column names and the number column's position."""
    header = [name.strip() for name in row]
    if len(header) > MAX_COLUMNS:
        raise CsvRefused(f"at most {MAX_COLUMNS} columns")
    if any(not name or len(name) > 64 for name in header):
        raise CsvRefused("every column needs a name of 1-64 characters in the header row")
    lowered = [name.lower() for name in header]
    if len(set(lowered)) != len(header):
        raise CsvRefused("column names must be unique")
    number_column = next((lowered.index(name) for name in NUMBER_COLUMNS if name in lowered), None)
    if number_column is None:
        raise CsvRefused(f"the header row needs a number column ({', '.join(NUMBER_COLUMNS)})")
    return header, number_column


def _rows(reader: Iterable[list[str]]) -> list[list[str]]:
    rows = []
    for row in reader:
        if len(row) > MAX_COLUMNS + 1:
            raise CsvRefused(f"a row has more than {MAX_COLUMNS} fields")
        if any(len(cell) > MAX_FIELD_CHARS for cell in row):
            raise CsvRefused(f"fields are limited to {MAX_FIELD_CHARS} characters")
        rows.append(row)
        if len(rows) > MAX_TARGETS + 1:
            raise CsvRefused(f"at most {MAX_TARGETS} targets per campaign")
    return rows


RESULT_COLUMNS = (
    "attempts", "outcome", "reason", "duration_seconds", "total_duration_seconds", "attempt_outcomes", "last_call_id"
)  # fmt: skip


def results(targets: Iterable[Mapping[str, Any]]) -> str:
    """One row per target: number, its metadata (one column per key seen), attempts, outcome, durations."""
    rows = list(targets)
    keys: list[str] = []
    for target in rows:
        for key in target.get("metadata") or {}:
            if key not in keys and key not in ("number", *RESULT_COLUMNS):
                keys.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["number", *keys, *RESULT_COLUMNS])
    for target in rows:
        metadata = target.get("metadata") or {}
        values = [_cell(metadata.get(key, "")) for key in keys]
        values += [_cell(target.get(column, "")) for column in RESULT_COLUMNS]
        writer.writerow([target["number"], *values])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else str(value) if isinstance(value, int | float) else _json(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
