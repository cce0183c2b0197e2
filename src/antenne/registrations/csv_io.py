"""Registrants in and out as CSV: reading an organiser's file into a checked preview,
importing the previewed rows all at once, and the streaming export.

Import rule: the preview lists every row with what will happen to it. Rows that cannot be
imported (invalid email, missing name, staff member, duplicate in the file, over capacity)
are shown and skipped explicitly; the organiser then confirms the import of the valid rows,
which are written in one transaction or not at all. If anything changed since the preview
(the session filled up meanwhile, say), nothing is written and the preview is shown again."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from antenne.accounts.models import User
from antenne.accounts.services import checked_email
from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict, Invalid
from antenne.core.spreadsheet import formula_safe
from antenne.events.models import Session
from antenne.events.permissions import require_session_manager
from antenne.registrations import services
from antenne.registrations.models import Registration, RegistrationField
from antenne.registrations.selectors import answer_text

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
TOKEN_SALT = "antenne.registrations.csv_import"  # noqa: S105 (a namespace, not a secret)
TOKEN_MAX_AGE = 3600

# --- Reading a file -----------------------------------------------------------------------

HEADERS = {
    "email": "email",
    "e_mail": "email",
    "mail": "email",
    "courriel": "email",
    "adresse_email": "email",
    "adresse_e_mail": "email",
    "adresse_mail": "email",
    "adresse_electronique": "email",
    "first_name": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "prenom": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "nom": "last_name",
    "nom_de_famille": "last_name",
}
COLUMNS = ("email", "first_name", "last_name")


class RowStatus:
    NEW = "new"
    WAITLIST = "waitlist"
    EXISTING = "existing"
    INVALID_EMAIL = "invalid_email"
    MISSING_NAME = "missing_name"
    STAFF = "staff"
    DUPLICATE = "duplicate"
    OVER_CAPACITY = "over_capacity"

    LABELS = {
        NEW: _("Will be added"),
        WAITLIST: _("Will be added to the waiting list"),
        EXISTING: _("Already registered"),
        INVALID_EMAIL: _("Invalid email"),
        MISSING_NAME: _("Missing name"),
        STAFF: _("Member of the organising workspace"),
        DUPLICATE: _("Duplicate in the file"),
        OVER_CAPACITY: _("Would exceed the capacity"),
    }
    IMPORTABLE = frozenset({NEW, WAITLIST})


@dataclass
class ImportRow:
    line: int
    email: str
    first_name: str
    last_name: str
    status: str = ""

    @property
    def importable(self) -> bool:
        return self.status in RowStatus.IMPORTABLE

    @property
    def status_label(self) -> str:
        return str(RowStatus.LABELS.get(self.status, ""))

    @property
    def badge(self) -> str:
        if self.importable:
            return "success"
        return "info" if self.status == RowStatus.EXISTING else "error"


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else Windows-1252/Latin-1 as spreadsheets save it."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid(
                _("The file says it is UTF-8 but is not."), code="registration.import_encoding"
            ) from None
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _header_key(value: str) -> str:
    plain = unicodedata.normalize("NFKD", value.replace("\ufeff", "").strip().lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return "_".join("".join(c if c.isalnum() else " " for c in plain).split())


def _clean(value: str) -> str:
    return " ".join(value.replace("\x00", "").split())[: services.NAME_MAX]


def read_csv(data: bytes) -> list[ImportRow]:
    """The rows of an uploaded file (header row required), not yet checked."""
    if len(data) > MAX_BYTES:
        raise Invalid(_("The file is larger than 2 MB."), code="registration.import_too_large")
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise Invalid(_("The file is empty."), code="registration.import_empty")
        positions: dict[str, int] = {}
        for index, name in enumerate(header):
            column = HEADERS.get(_header_key(name))
            if column and column not in positions:
                positions[column] = index
        missing = [c for c in COLUMNS if c not in positions]
        if missing:
            raise Invalid(
                _(
                    "The first row must name the columns email, first_name and last_name "
                    "(or courriel, prénom and nom). Missing: %(missing)s."
                )
                % {"missing": ", ".join(missing)},
                code="registration.import_header",
            )
        rows: list[ImportRow] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise Invalid(
                    _("The file has more than %(max)s rows.") % {"max": MAX_ROWS},
                    code="registration.import_too_many_rows",
                )
            values = {column: cells[i] if i < len(cells) else "" for column, i in positions.items()}
            rows.append(
                ImportRow(
                    line=reader.line_num,
                    email=values["email"].replace("\x00", "").strip()[:254],
                    first_name=_clean(values["first_name"]),
                    last_name=_clean(values["last_name"]),
                )
            )
    except csv.Error as error:
        raise Invalid(
            _("The file is not a readable CSV file (line %(line)s).") % {"line": reader.line_num},
            code="registration.import_unreadable",
        ) from error
    return rows


def classify(*, session: Session, rows: list[ImportRow]) -> list[ImportRow]:
    """Set what importing would do to each row, in file order, with three queries."""
    valid: dict[int, str] = {}
    for row in rows:
        try:
            valid[row.line] = checked_email(row.email)
        except Invalid:
            continue
    addresses = set(valid.values())
    staff = set(
        User.objects.filter(email__in=addresses, is_active=True).values_list("email", flat=True)
    )
    registered = set(
        Registration.objects.filter(session=session, email__in=addresses).values_list(
            "email", flat=True
        )
    )
    seats: int | None = None
    if session.capacity is not None:
        taken = Registration.objects.filter(
            session=session, status=Registration.Status.CONFIRMED
        ).count()
        seats = max(session.capacity - taken, 0)
    seen: set[str] = set()
    for row in rows:
        address = valid.get(row.line)
        if address is None:
            row.status = RowStatus.INVALID_EMAIL
            continue
        row.email = address
        if not (row.first_name and row.last_name):
            row.status = RowStatus.MISSING_NAME
        elif address in seen:
            row.status = RowStatus.DUPLICATE
        elif address in staff:
            row.status = RowStatus.STAFF
        elif address in registered:
            row.status = RowStatus.EXISTING
        elif seats is None or seats > 0:
            row.status = RowStatus.NEW
            if seats is not None:
                seats -= 1
        elif session.waitlist_enabled:
            row.status = RowStatus.WAITLIST
        else:
            row.status = RowStatus.OVER_CAPACITY
        seen.add(address)
    return rows


def preview_token(*, session: Session, rows: list[ImportRow]) -> str:
    """The parsed rows and the preview's verdicts, signed: the confirm step trusts only this."""
    return signing.dumps(
        {
            "session": session.pk,
            "rows": [[r.line, r.email, r.first_name, r.last_name] for r in rows],
            "previewed": {str(r.line): r.status for r in rows if r.importable},
        },
        salt=TOKEN_SALT,
        compress=True,
    )


def rows_from_token(*, session: Session, token: str) -> tuple[list[ImportRow], dict[str, str]]:
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise Invalid(
            _("This preview has expired. Upload the file again."),
            code="registration.import_expired",
        ) from None
    if payload.get("session") != session.pk:
        raise Invalid(
            _("This preview has expired. Upload the file again."),
            code="registration.import_expired",
        )
    rows = [ImportRow(line, email, first, last) for line, email, first, last in payload["rows"]]
    return rows, dict(payload["previewed"])


# --- Importing ----------------------------------------------------------------------------


def import_registrants(
    *, actor: Any, session: Session, rows: list[ImportRow], previewed: dict[str, str]
) -> int:
    """Register every row the organiser confirmed in the preview, in one transaction: all of
    them or none. Rows registered by someone else meanwhile are left as they are; any other
    change since the preview (a row now over capacity, say) imports nothing."""
    require_session_manager(actor, session)
    with transaction.atomic():
        locked = Session.objects.select_for_update().select_related("event").get(pk=session.pk)
        classify(session=locked, rows=rows)
        changed = [
            r
            for r in rows
            if str(r.line) in previewed
            and r.status not in (previewed[str(r.line)], RowStatus.EXISTING)
        ]
        if changed:
            raise Conflict(
                ngettext(
                    "Since the preview, %(count)s row can no longer be imported as shown "
                    "(line %(line)s: %(reason)s). Nothing was imported.",
                    "Since the preview, %(count)s rows can no longer be imported as shown "
                    "(first: line %(line)s, %(reason)s). Nothing was imported.",
                    len(changed),
                )
                % {
                    "count": len(changed),
                    "line": changed[0].line,
                    "reason": changed[0].status_label,
                },
                code="registration.import_changed",
            )
        count = 0
        for row in rows:
            if str(row.line) not in previewed or not row.importable:
                continue
            _registration, created = services.register(
                session=locked,
                email=row.email,
                first_name=row.first_name,
                last_name=row.last_name,
                consent=False,
                language=locked.event.language,
                source="import",
                actor=actor,
            )
            count += created
        log_action(locked, actions.REGISTRANTS_IMPORTED, actor=actor, data={"count": count})
    return count


# --- Exporting ----------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "status",
    "registered_at",
    "consent_at",
    "consent_version",
    "utm_source",
    "utm_medium",
    "utm_campaign",
]


class _Line:
    """A file-like object whose write() hands back the line csv.writer formatted."""

    def write(self, value: str) -> str:
        return value


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def csv_lines(
    rows: Iterable[Iterable[str]], *, bom: bool = True, delimiter: str = ","
) -> Iterator[str]:
    """RFC 4180 lines (CRLF, minimal quoting), every cell made formula-safe; a UTF-8 BOM
    first so that Excel reads the accents right; fields separated by `delimiter` (";" for
    a spreadsheet in French, whose decimal mark is the comma)."""
    writer = csv.writer(_Line(), delimiter=delimiter)
    if bom:
        yield "\ufeff"
    for row in rows:
        yield writer.writerow([formula_safe(str(cell)) for cell in row])


def export_registrants(*, actor: Any, session: Session, delimiter: str = ",") -> Iterator[str]:
    """The session's registrations as CSV lines, streamed. Recorded in the audit log."""
    require_session_manager(actor, session)
    fields = list(RegistrationField.objects.filter(event_id=session.event_id))
    log_action(session, actions.REGISTRANTS_EXPORTED, actor=actor)

    def rows() -> Iterator[list[str]]:
        yield EXPORT_COLUMNS + [field.label for field in fields]
        registrations = (
            Registration.objects.filter(session=session)
            .order_by("created_at", "id")
            .iterator(chunk_size=1000)
        )
        for r in registrations:
            utm = r.utm if isinstance(r.utm, dict) else {}
            answers = r.answers if isinstance(r.answers, dict) else {}
            yield [
                r.email,
                r.first_name,
                r.last_name,
                r.status,
                _utc(r.created_at),
                _utc(r.consent_at),
                r.consent_version,
                str(utm.get("utm_source", "")),
                str(utm.get("utm_medium", "")),
                str(utm.get("utm_campaign", "")),
                *(answer_text(answers.get(field.key)) for field in fields),
            ]

    return csv_lines(rows(), delimiter=delimiter)
