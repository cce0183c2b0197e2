"""Writing an export's sheets to a file, row by row, never holding them all:

- CSV: a ZIP archive with one CSV file per sheet (UTF-8 with a byte-order mark so that
  spreadsheets read the accents right, RFC 4180 lines), each written through the archive's
  streaming member writer; fields are separated by `;` (what a spreadsheet set to French
  expects: the comma is its decimal mark) or `,`, as the export was asked for; times are
  `YYYY-MM-DD HH:MM:SS` in the session's zone (the header names it);
- XLSX: one workbook, one worksheet per sheet, written by openpyxl in write-only mode (rows
  go to a temporary file as they come); times are date cells in the session's zone, shown
  day first for French (`DATE_FORMATS`).

Every text cell, headers included, goes through `core.spreadsheet.formula_safe` in both
formats, so a cell that could start a formula never does and the two files hold the same
values. In XLSX, text is always written as text (never a formula or an error value), and
the control characters XML cannot carry are dropped."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

from antenne.analytics.rows import Cell, Sheet
from antenne.core.spreadsheet import formula_safe

XLSX_TITLE_MAX = 31  # characters of a worksheet's name
DELIMITERS = {"semicolon": ";", "comma": ","}
# How an XLSX date cell shows, per language (the cell holds the time itself).
DATE_FORMATS = {"fr": "dd/mm/yyyy hh:mm:ss", "en": "yyyy-mm-dd hh:mm:ss"}


def cell_text(value: Cell) -> str:
    """A cell as text (a time without its zone: the header names it)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def csv_cell(value: Cell) -> str:
    return cell_text(value) if isinstance(value, int | datetime) else formula_safe(value)


def write_csv_zip(
    path: Path, sheets: Iterable[Sheet], *, delimiter: str = "comma", language: str = "en"
) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for sheet in sheets:
            with (
                archive.open(f"{sheet.name}.csv", "w", force_zip64=True) as member,
                io.TextIOWrapper(member, encoding="utf-8-sig", newline="") as text,
            ):
                writer = csv.writer(text, delimiter=DELIMITERS[delimiter])
                writer.writerow([csv_cell(name) for name in sheet.header])
                for row in sheet.rows:
                    writer.writerow([csv_cell(cell) for cell in row])


def _xlsx_cell(sheet: Any, value: Cell, date_format: str = DATE_FORMATS["en"]) -> Any:
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):  # a date cell, in the zone the time was given in
        cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
        cell.number_format = date_format
        return cell
    text = ILLEGAL_CHARACTERS_RE.sub("", formula_safe(value))
    if text in ERROR_CODES:  # openpyxl would write "#N/A" as an error value, not text
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return text


def write_xlsx(
    path: Path, sheets: Iterable[Sheet], *, delimiter: str = "comma", language: str = "en"
) -> None:
    """(`delimiter` is the CSV writer's: unused.)"""
    date_format = DATE_FORMATS.get(language, DATE_FORMATS["en"])
    book = Workbook(write_only=True)
    for sheet in sheets:
        page = book.create_sheet(title=sheet.name[:XLSX_TITLE_MAX])
        page.append([_xlsx_cell(page, name) for name in sheet.header])
        for row in sheet.rows:
            page.append([_xlsx_cell(page, cell, date_format) for cell in row])
    book.save(path)


WRITERS = {"csv": write_csv_zip, "xlsx": write_xlsx}
