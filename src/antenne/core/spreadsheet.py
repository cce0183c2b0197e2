"""Cells a spreadsheet will not run: the one neutralisation of every file Antenne exports
(the registrants CSV, the analytics CSV and XLSX files)."""

from __future__ import annotations

# Spreadsheets read a cell starting with one of these as a formula (OWASP "CSV injection"),
# full-width forms included: some spreadsheets fold them to their ASCII equivalents.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def formula_safe(value: str) -> str:
    """A cell value a spreadsheet will show as text: a leading quote before anything that
    could start a formula, also after leading spaces (some spreadsheets trim them)."""
    if value.startswith(FORMULA_PREFIXES) or value.lstrip().startswith(FORMULA_PREFIXES):
        return f"'{value}"
    return value
