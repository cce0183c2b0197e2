"""Exports read back as a spreadsheet user would: the CSV files of the ZIP with the csv
module, the workbook with openpyxl; every column checked against the database (the
fixture's hand-worked values, conftest.py), formulas neutralised in both formats; headers,
sheet names and labels in the requester's language, times in the session's zone (date
cells in XLSX), `;` between a French CSV's fields."""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from openpyxl import load_workbook

from antenne.analytics import columns, rows, services
from antenne.analytics.exports import write_xlsx
from antenne.analytics.models import Export
from antenne.core import actions
from antenne.core.exceptions import Invalid
from antenne.core.models import AuditEntry
from antenne.core.spreadsheet import formula_safe
from antenne.registrations import services as registrations
from antenne.registrations.models import Registration
from antenne.rooms.models import ChatMessage, Presence
from tests.analytics.conftest import HYPERLINK, at
from tests.conftest import client_for
from tests.factories import RegistrationFactory
from tests.helpers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)  # tasks are queued on commit


PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SHEETS_EN = ["Registrants", "Chat", "Questions", "Polls", "Calls"]
SHEETS_FR = ["Inscrits", "Discussion", "Questions", "Sondages", "Appels"]


def utc(value) -> datetime | str:
    """A time as the export holds it: in the session's zone (Paris), to the second."""
    return value.astimezone(PARIS).replace(microsecond=0, tzinfo=None) if value else ""


def made(animator, session, fmt: str, **options) -> Export:
    options.setdefault("language", "en")
    export = services.request_export(actor=animator, session=session, format=fmt, **options)
    drain_tasks()
    export.refresh_from_db()
    assert export.state == "done", export.error
    return export


def path_of(export: Export) -> Path:
    return Path(settings.EXPORTS_DIR) / export.file_name


def read_csv(
    export: Export, names: list[str] = SHEETS_EN, delimiter: str = ","
) -> dict[str, list[list[str]]]:
    """The archive's files by sheet code (registrants, chat…), in `names`' order."""
    codes = ["registrants", "chat", "questions", "polls", "calls"]
    with zipfile.ZipFile(path_of(export)) as archive:
        assert archive.namelist() == [f"{name}.csv" for name in names]
        sheets = {}
        for code, name in zip(codes, archive.namelist(), strict=True):
            raw = archive.read(name)
            assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read UTF-8 right
            sheets[code] = list(
                csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=delimiter)
            )
    return sheets


def read_xlsx(export: Export, names: list[str] = SHEETS_EN) -> dict[str, list[list]]:
    book = load_workbook(path_of(export))
    assert book.sheetnames == names
    codes = dict(zip(names, ["registrants", "chat", "questions", "polls", "calls"], strict=True))
    sheets = {}
    for page in book.worksheets:
        table = []
        for line in page.iter_rows():
            for cell in line:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (cell.coordinate, cell.value)
            table.append(["" if cell.value is None else cell.value for cell in line])
        sheets[codes[page.title]] = table
    return sheets


def english(codes: list[str]) -> list[str]:
    with translation.override("en"):
        return [columns.label(code, zone="Europe/Paris") for code in codes]


def expected_registrants(w) -> tuple[list[str], list[list]]:
    """The registrants sheet, worked out from the fixture (every column), in English."""
    header = [*english(rows.REGISTRANT_COLUMNS), "Service", "Other answers", "Poll 1: Utile ?"]
    header.append("Poll 2: Sujets")
    start = w.start
    session_cells = [w.session.pk, utc(w.session.starts_at)]

    def base(r: Registration) -> list:
        utm = r.utm
        return [
            r.pk,
            r.email,
            r.first_name,
            r.last_name,
            {"confirmed": "Confirmed", "waitlisted": "On the waiting list", "revoked": "Revoked"}[
                r.status
            ],
            {"public": "Registration page", "api": "API"}[r.source],
            r.language,
            utc(r.created_at),
            utc(r.consent_at),
            r.consent_version,
            *(utm.get(k, "") for k in rows.UTM),
            *session_cells,
        ]

    table = [
        [
            *base(w.alice),
            "on the web",
            utc(at(start, 0)),
            utc(at(start, 40)),
            2400,
            1,  # the deleted message does not count
            1,
            0,
            "DINUM",
            "",
            "Oui",
            "A, C",
        ],
        [
            *base(w.bob),
            "by telephone",
            utc(at(start, 20)),
            utc(at(start, 50)),
            1800,
            1,
            1,
            1,
            "Mairie",
            "field_999: yes",  # a boolean answer sent through the API
            "Non",
            "",
        ],
        [*base(w.formula), "", "", "", 0, 0, 0, 0, "@SUM(A1)", "ancienne: a, b", "", ""],
        [*base(w.dan), "", "", "", 0, 0, 0, 0, "", "", "", ""],
        [*base(w.eve), "", "", "", 0, 0, 0, 0, "", "", "", ""],
    ]
    return header, table


def neutralised(value):
    if isinstance(value, datetime):
        return value
    return value if isinstance(value, int) else formula_safe(value)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_column_of_every_sheet_matches_the_database(webinar, animator, fmt):
    export = made(animator, webinar.session, fmt)
    sheets = read_csv(export) if fmt == "csv" else read_xlsx(export)
    as_text = fmt == "csv"

    def cells(row):
        return [
            (v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else str(v))
            if as_text
            else v
            for v in map(neutralised, row)
        ]

    header, table = expected_registrants(webinar)
    assert sheets["registrants"][0] == header
    assert sheets["registrants"][1:] == [cells(row) for row in table]

    chat = ChatMessage.objects.filter(session=webinar.session, backstage=False).order_by("pk")
    assert sheets["chat"][0] == english(rows.CHAT_COLUMNS)
    assert sheets["chat"][1:] == [
        cells(
            [
                m.pk,
                utc(m.created_at),
                m.author_name,
                {"attendee": "Attendee", "staff": "Staff"}[m.role],
                m.registration_id or "",
                m.text,
                utc(m.deleted_at),
            ]
        )
        for m in chat
    ]
    assert len(sheets["chat"]) == 5  # the backstage message is not there

    q1, q2 = webinar.questions
    assert sheets["questions"][0] == english(rows.QUESTION_COLUMNS)
    assert sheets["questions"][1:] == [
        cells(
            [
                q.pk,
                utc(q.created_at),
                q.author_name,
                "no",
                q.registration_id,
                q.text,
                {"open": "Open", "answered": "Answered"}[q.state],
                v,
            ]
        )
        for q, v in ((q1, 2), (q2, 0))
    ]
    p1, p2 = webinar.polls
    assert sheets["polls"][0] == english(rows.POLL_COLUMNS)
    assert sheets["polls"][1:] == [
        cells([p.pk, p.question, multiple, "Closed", "", "", option, votes, voters])
        for p, multiple, option, votes, voters in [
            (p1, "no", "Oui", 1, 2),
            (p1, "no", "Non", 1, 2),
            (p2, "yes", "A", 1, 1),
            (p2, "yes", "B", 0, 1),
            (p2, "yes", "C", 1, 1),
        ]
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formulas_are_shown_as_text(webinar, animator, fmt):
    export = made(animator, webinar.session, fmt)
    sheets = read_csv(export) if fmt == "csv" else read_xlsx(export)
    by_email = {row[1]: row for row in sheets["registrants"][1:]}
    row = by_email["formula@public.example"]
    assert row[2] == "'" + HYPERLINK
    assert row[3] == "'+33 6 12"
    assert "'@SUM(A1)" in row
    assert [r[5] for r in sheets["chat"][1:] if "1+1" in r[5]] == ["'=1+1"]
    assert "'-Et après ?" in [r[5] for r in sheets["questions"][1:]]


def test_xlsx_never_holds_a_formula_or_an_error_value(webinar, animator, tmp_path):
    path = tmp_path / "t.xlsx"
    header = ["=a", "#N/A", "ok"]
    write_xlsx(path, [rows.Sheet("s", header, iter([["#REF!", " =1", "x\x07y"], [3, "", "@"]]))])
    page = load_workbook(path)["s"]
    values = [[(c.value, c.data_type) for c in line] for line in page.iter_rows()]
    assert values[0] == [("'=a", "s"), ("#N/A", "s"), ("ok", "s")]
    assert values[1] == [("#REF!", "s"), ("' =1", "s"), ("xy", "s")]
    assert values[2][0] == (3, "n")
    assert values[2][2] == ("'@", "s")


def test_formula_safe_neutralises_every_formula_start():
    for start in ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]:
        assert formula_safe(start + "1") == "'" + start + "1"
    for start in ["=", "+", "-", "@", "＝", "＋", "－", "＠"]:  # after spaces a sheet may trim
        for space in (" ", "  ", "\n", "\u3000"):
            assert formula_safe(space + start + "1") == "'" + space + start + "1"
    for harmless in ["Zoé", "a=1", "", " ", "1-2", "'=déjà"]:
        assert formula_safe(harmless) == harmless


def test_export_made_after_an_erasure_leaves_the_person_out(webinar, animator):
    registrations.erase_registration(actor=animator, registration=webinar.bob)
    sheets = read_csv(made(animator, webinar.session, "csv"))
    emails = [row[1] for row in sheets["registrants"][1:]]
    assert "bob@public.example" not in emails
    assert len(emails) == 4
    assert not any("Allô" in row[5] for row in sheets["chat"])
    assert not any("Et après" in row[5] for row in sheets["questions"])
    alice = sheets["registrants"][1]
    assert alice[1] == "alice@public.example"


def test_progress_is_written_as_the_rows_go_and_the_export_is_audited(
    webinar, animator, monkeypatch
):
    monkeypatch.setattr(rows, "CHUNK", 2)
    seen: list[int] = []
    original = services._progress

    def spy(export_id, total):
        report = original(export_id, total)

        def wrapped(done):
            report(done)
            seen.append(Export.objects.get(pk=export_id).progress)

        return wrapped

    monkeypatch.setattr(services, "_progress", spy)
    export = made(animator, webinar.session, "xlsx")
    assert seen == [40, 80, 99]  # 2, 4 then 5 of 5 rows; 100 once the file is complete
    assert (export.progress, export.rows) == (100, 5)
    assert export.size == path_of(export).stat().st_size > 0
    codes = list(
        AuditEntry.objects.filter(object_type="analytics.export", object_id=str(export.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert codes == [actions.EXPORT_REQUESTED, actions.EXPORT_READY]


def test_row_queries_do_not_grow_with_registrants(webinar, django_assert_max_num_queries):
    def consume():
        for sheet in rows.sheets(webinar.session):
            list(sheet.rows)

    with django_assert_max_num_queries(12) as few:
        consume()
    for n in range(30):
        registration = RegistrationFactory(session=webinar.session)
        Presence.objects.create(
            session=webinar.session, registration=registration, joined_at=at(webinar.start, n)
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        consume()


def test_a_failing_export_is_marked_failed_and_leaves_no_file(webinar, animator, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setitem(services.exports.WRITERS, "csv", broken)
    export = services.request_export(actor=animator, session=webinar.session, format="csv")
    drain_tasks()
    export.refresh_from_db()
    assert (export.state, export.file_name) == ("failed", "")
    assert export.error == "OSError: disk full"
    assert not list(Path(settings.EXPORTS_DIR).rglob(f"export-{export.pk}-*"))


def test_report_page_columns_are_the_files_columns(webinar, animator):
    response = client_for(animator).get(f"/app/sessions/{webinar.session.pk}/report/")
    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index('id="registrants"') :]
    shown = [h.replace("&#x27;", "'") for h in re.findall(r'<th scope="col">([^<]*)</th>', table)]
    assert shown[1:3] == ["Adresse électronique", "Prénom"]
    export = made(animator, webinar.session, "csv", language="fr")
    assert read_csv(export, SHEETS_FR, ";")["registrants"][0] == shown


def test_watch_times_agree_with_the_report(webinar):
    """A connection closed after the end counts until it closed; one a dead process left
    open counts until the end (the sweeper closes it later): as the report's figures do."""
    from antenne.rooms.attendance import per_person

    session, start = webinar.session, webinar.start
    late = RegistrationFactory(session=session, email="late@public.example")
    Presence.objects.create(
        session=session, registration=late, joined_at=at(start, 50), left_at=at(start, 70)
    )
    stuck = RegistrationFactory(session=session, email="stuck@public.example")
    Presence.objects.create(session=session, registration=stuck, joined_at=at(start, 55))
    fields, polls = [webinar.field], rows.session_polls(session)
    got = {
        row[0]: dict(zip(rows.REGISTRANT_COLUMNS, row, strict=False))
        for row in rows.registrant_rows(session, fields=fields, polls=polls)
    }
    expected = per_person(session, now=session.ended_at)
    assert {pk: got[pk]["watch_time_seconds"] for pk in expected} == {
        pk: person.watch_seconds for pk, person in expected.items()
    }
    assert got[late.pk]["watch_time_seconds"] == 20 * 60
    assert got[late.pk]["last_leave"].replace(tzinfo=None) == utc(at(start, 70))
    assert got[stuck.pk]["watch_time_seconds"] == 5 * 60
    assert got[stuck.pk]["last_leave"].replace(tzinfo=None) == utc(session.ended_at)


def test_a_french_requester_gets_french_sheets_date_cells_in_the_sessions_zone(webinar, animator):
    """Read back with openpyxl: French sheet names and headers, times as date cells in the
    session's zone (Paris), shown day first."""
    export = made(animator, webinar.session, "xlsx", language="fr")
    book = load_workbook(path_of(export))
    assert book.sheetnames == SHEETS_FR
    page = book["Inscrits"]
    header = [cell.value for cell in page[1]]
    assert header[1:5] == ["Adresse électronique", "Prénom", "Nom", "Statut"]
    alice = next(line for line in page.iter_rows(min_row=2) if line[1].value == webinar.alice.email)
    registered = alice[header.index(columns.label("registered_at", zone="Europe/Paris"))]
    assert registered.is_date
    assert registered.number_format == "dd/mm/yyyy hh:mm:ss"
    paris = webinar.alice.created_at.astimezone(PARIS).replace(microsecond=0, tzinfo=None)
    assert registered.value == paris
    assert registered.value != webinar.alice.created_at.astimezone(UTC).replace(
        microsecond=0, tzinfo=None
    )  # not UTC
    assert any(name.endswith("(Europe/Paris)") for name in header)


def test_a_french_csv_starts_with_a_bom_and_separates_fields_with_semicolons(webinar, animator):
    export = made(animator, webinar.session, "csv", language="fr")
    assert (export.language, export.delimiter) == ("fr", "semicolon")
    with zipfile.ZipFile(path_of(export)) as archive:
        raw = archive.read("Inscrits.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    first_line = raw.decode("utf-8-sig").splitlines()[0]
    assert ";Adresse électronique;Prénom;Nom;Statut;" in first_line
    sheets = read_csv(export, SHEETS_FR, ";")
    alice = next(row for row in sheets["registrants"] if row[1] == webinar.alice.email)
    assert alice[4] == "Confirmé"
    # Asked for with commas, a French file has commas.
    comma = made(animator, webinar.session, "csv", language="fr", delimiter="comma")
    assert read_csv(comma, SHEETS_FR, ",")["registrants"][0][1] == "Adresse électronique"


def test_an_english_requester_gets_commas_by_default(webinar, animator):
    animator.language = "en"
    animator.save()
    export = services.request_export(actor=animator, session=webinar.session, format="csv")
    assert (export.language, export.delimiter) == ("en", "comma")


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"format": "pdf"}, "export.format_invalid"),
        ({"format": "csv", "language": "de"}, "export.language_invalid"),
        ({"format": "csv", "delimiter": "tab"}, "export.delimiter_invalid"),
    ],
)
def test_a_wrong_choice_is_refused_with_its_reason(webinar, animator, options, code):
    with pytest.raises(Invalid) as refused:
        services.request_export(actor=animator, session=webinar.session, **options)
    assert refused.value.code == code
    assert not Export.objects.exists()
