"""VIP numbers imported from a CSV file, every row accounted for.

``import_vip_numbers(data, existing, country) -> VipImport``: the number is the first cell
of each row; blank rows are skipped; a first row with no digit in it is a header. The file
may be UTF-8 (with or without the BOM spreadsheets write) or GB 18030 (Chinese Excel).
Each number is checked as the document checks it (``normalise_number``: the site's
numbering plan, E.164); a row that fails is refused with the reason and its row number, a
number already in the list (in any writing) is reported as a duplicate, and the rest are
appended as written. Nothing is silently dropped. A file that is not CSV at all raises
ValueError saying so.
"""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel

from branchline.config.document.numbers import normalise_number

__all__ = ["Duplicate", "RefusedRow", "VipImport", "import_vip_numbers"]


class RefusedRow(BaseModel):
    row: int
    value: str
    reason: str


class Duplicate(BaseModel):
    row: int
    value: str
    same_as: str


class VipImport(BaseModel):
    numbers: list[str]
    added: list[str]
    duplicates: list[Duplicate]
    refused: list[RefusedRow]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def import_vip_numbers(data: bytes, existing: list, country: str) -> VipImport:
    numbers = [str(n) for n in existing]
    seen: dict[str, str] = {}
    for number in numbers:
        try:
            seen.setdefault(normalise_number(number, country), number)
        except ValueError:
            continue  # the document check reports it where it is written
    added: list[str] = []
    duplicates: list[Duplicate] = []
    refused: list[RefusedRow] = []
    try:
        rows = list(csv.reader(io.StringIO(_decode(data), newline="")))
    except csv.Error as exc:
        raise ValueError(f"the file is not CSV that can be read ({exc}); save it as CSV with "
                         "one number per row") from None
    for index, row in enumerate(rows, start=1):
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if index == 1 and not any(ch.isdigit() for ch in cell):
            continue  # a header such as "number" or "电话"
        try:
            e164 = normalise_number(cell, country)
        except ValueError as exc:
            refused.append(RefusedRow(row=index, value=cell[:100], reason=str(exc)))
            continue
        if e164 in seen:
            duplicates.append(Duplicate(row=index, value=cell, same_as=seen[e164]))
            continue
        seen[e164] = cell
        numbers.append(cell)
        added.append(cell)
    return VipImport(numbers=numbers, added=added, duplicates=duplicates, refused=refused)
