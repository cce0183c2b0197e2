"""Registrant management in the back office: the list (search, filters, counts), adding by
hand, revoking, erasing, CSV import with a preview, and the formula-safe CSV export.

Import rule tested here: the preview lists every row with its fate; invalid rows are shown
and skipped explicitly, the valid ones are imported only on confirmation, all in one
transaction, and nothing at all if anything changed since the preview."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from antenne.core import actions
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.registrations.csv_io import formula_safe
from antenne.registrations.models import Registration, RegistrationField
from tests.conftest import client_for as french_client
from tests.factories import EventFactory, RegistrationFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    """The wording assertions below read the English interface."""
    client = french_client(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def session(animator):
    return SessionFactory(event=EventFactory(owner=animator, published=True), capacity=10)


def url(session, suffix=""):
    return f"/app/sessions/{session.pk}/registrants/{suffix}"


def upload(client, session, data: bytes, name="inscrits.csv"):
    return client.post(url(session, "import/"), {"file": SimpleUploadedFile(name, data)})


def token_of(response) -> str:
    [token] = re.findall(r'name="token" value="([^"]+)"', response.content.decode())
    return token


def statuses(response) -> list[str]:
    return re.findall(r'data-status="([a-z_]+)"', response.content.decode())


# --- The list -----------------------------------------------------------------------------


def test_list_searches_filters_and_counts(animator, session):
    field = RegistrationField.objects.create(event=session.event, label="Service")
    RegistrationFactory(
        session=session,
        email="alix@public.example",
        last_name="Martin",
        answers={field.key: "Archives"},
    )
    RegistrationFactory(
        session=session, email="bob@public.example", first_name="Bob", status="waitlisted"
    )
    RegistrationFactory(session=session, email="carla@public.example", status="revoked")
    client = client_for(animator)

    page = client.get(url(session)).content.decode()
    assert "alix@public.example" in page
    assert "Service: Archives" in page
    assert "1 confirmed" in page
    assert "capacity 10" in page
    assert "1 on the waiting list" in page
    assert "1 revoked" in page

    found = client.get(url(session), {"q": "bob"}).content.decode()
    assert "bob@public.example" in found
    assert "alix@public.example" not in found
    revoked = client.get(url(session), {"status": "revoked"}).content.decode()
    assert "carla@public.example" in revoked
    assert "bob@public.example" not in revoked


def test_answers_from_the_registration_page_read_as_label_and_value(animator, session):
    """The registration page stores {"label", "value"}: the list and the CSV show the
    answer, never the stored dict."""
    field = RegistrationField.objects.create(event=session.event, label="Votre service")
    RegistrationFactory(
        session=session, answers={field.key: {"label": "Votre service", "value": "DINUM"}}
    )
    client = client_for(animator)
    page = client.get(url(session)).content.decode()
    assert "Votre service: DINUM" in page
    assert "{" not in page.split("Votre service:", 1)[1][:40]
    body = b"".join(client.get(url(session, "export.csv")).streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[1][rows[0].index("Votre service")] == "DINUM"


def test_list_is_paginated_with_bounded_queries(animator, session, django_assert_num_queries):
    RegistrationFactory(session=session)
    client = client_for(animator)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(session)).status_code == 200
    RegistrationFactory.create_batch(60, session=session)
    with django_assert_num_queries(len(few.captured_queries)):
        page = client.get(url(session)).content.decode()
    assert page.count("/delete/") == 50
    assert "61 registrations" in page
    assert "2 / 2" not in page  # first page shown
    assert "1 / 2" in page


def test_session_page_links_to_registrants_for_its_managers(animator, member, session):
    RegistrationFactory(session=session)
    page = client_for(animator).get(f"/app/sessions/{session.pk}/").content.decode()
    assert f'href="{url(session)}"' in page
    assert "Registrants (1)" in page
    other = client_for(member).get(f"/app/sessions/{session.pk}/").content.decode()
    assert url(session) not in other


# --- Add, revoke, delete ------------------------------------------------------------------


def test_animator_adds_someone_by_hand(animator, session):
    response = client_for(animator).post(
        url(session), {"email": " Dana@Public.example", "first_name": "Dana", "last_name": "Roy"}
    )
    assert response.status_code == 302
    registration = Registration.objects.get()
    assert registration.email == "dana@public.example"
    assert registration.source == "manual"
    assert registration.consent_at is None
    assert AuditEntry.objects.get(action=actions.REGISTRATION_CREATED).actor == animator


def test_staff_member_cannot_be_added_by_hand(animator, member, session):
    response = client_for(animator).post(
        url(session), {"email": "MEMBRE@service.example ", "first_name": "M", "last_name": "B"}
    )
    assert response.status_code == 422
    assert "organising workspace" in response.content.decode()
    assert not Registration.objects.exists()


def test_full_session_is_a_form_error(animator):
    session = SessionFactory(event=EventFactory(owner=animator), capacity=1)
    RegistrationFactory(session=session)
    response = client_for(animator).post(
        url(session), {"email": "late@public.example", "first_name": "L", "last_name": "T"}
    )
    assert response.status_code == 422
    assert "This session is full." in response.content.decode()
    assert Registration.objects.count() == 1


def test_revoked_join_link_no_longer_works(animator, session):
    registration = RegistrationFactory(session=session)
    join = f"/join/{registration.join_key}/"
    assert client_for(None).get(join).status_code == 200
    response = client_for(animator).post(f"/app/registrations/{registration.pk}/revoke/")
    assert response["Location"] == url(session)
    registration.refresh_from_db()
    assert registration.status == Registration.Status.REVOKED
    assert client_for(None).get(join).status_code == 404
    assert "1 revoked" in client_for(animator).get(url(session)).content.decode()


def test_delete_asks_for_confirmation_then_erases_the_answers(animator, session):
    field = RegistrationField.objects.create(event=session.event, label="Motif")
    registration = RegistrationFactory(
        session=session, email="erase@public.example", answers={field.key: "secret"}
    )
    client = client_for(animator)
    page = client.get(f"/app/registrations/{registration.pk}/delete/")
    assert "every answer they gave are erased" in page.content.decode()
    assert Registration.objects.filter(pk=registration.pk).exists()  # a GET changes nothing
    response = client.post(f"/app/registrations/{registration.pk}/delete/")
    assert response["Location"] == url(session)
    assert not Registration.objects.filter(pk=registration.pk).exists()
    assert "erase@public.example" not in client.get(url(session)).content.decode()
    entry = AuditEntry.objects.get(action=actions.REGISTRATION_ERASED)
    assert "secret" not in str(entry.data)
    assert "erase@public.example" not in str(entry.data)


# --- Import -------------------------------------------------------------------------------


def test_import_previews_without_writing_then_imports_the_valid_rows(animator, member, session):
    RegistrationFactory(session=session, email="already@public.example")
    data = (
        "email,first_name,last_name\n"
        "ana@public.example,Ana,Lopez\n"
        "not-an-email,Bad,Row\n"
        "ben@public.example,,Noname\n"
        f"{member.email.upper()},Staff,Member\n"
        "ANA@public.example,Ana,Again\n"
        "already@public.example,Al,Ready\n"
        "cy@public.example,Cy,Diaz\n"
    ).encode()
    client = client_for(animator)
    preview = upload(client, session, data)
    assert preview.status_code == 200
    assert statuses(preview) == [
        "new",
        "invalid_email",
        "missing_name",
        "staff",
        "duplicate",
        "existing",
        "new",
    ]
    assert "2 rows will be imported." in preview.content.decode()
    assert Registration.objects.count() == 1  # the preview wrote nothing

    response = client.post(url(session, "import/"), {"token": token_of(preview)})
    assert response["Location"] == url(session)
    imported = Registration.objects.filter(source="import")
    assert sorted(imported.values_list("email", flat=True)) == [
        "ana@public.example",
        "cy@public.example",
    ]
    assert all(r.consent_at is None and r.consent_version == "" for r in imported)
    assert AuditEntry.objects.get(action=actions.REGISTRANTS_IMPORTED).data == {"count": 2}


def test_capacity_reached_since_the_preview_imports_nothing(animator):
    session = SessionFactory(event=EventFactory(owner=animator), capacity=3)
    RegistrationFactory(session=session)
    client = client_for(animator)
    preview = upload(
        client, session, b"email,first_name,last_name\na@x.example,A,A\nb@x.example,B,B\n"
    )
    assert statuses(preview) == ["new", "new"]
    RegistrationFactory(session=session)  # someone registers on the public page meanwhile
    response = client.post(url(session, "import/"), {"token": token_of(preview)})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Nothing was imported." in page
    assert statuses(response) == ["new", "over_capacity"]
    assert not Registration.objects.filter(source="import").exists()


def test_rows_over_capacity_are_shown_and_skipped(animator):
    session = SessionFactory(event=EventFactory(owner=animator), capacity=1)
    client = client_for(animator)
    preview = upload(
        client, session, b"email,first_name,last_name\na@x.example,A,A\nb@x.example,B,B\n"
    )
    assert statuses(preview) == ["new", "over_capacity"]
    client.post(url(session, "import/"), {"token": token_of(preview)})
    assert list(Registration.objects.values_list("email", flat=True)) == ["a@x.example"]


@pytest.mark.parametrize(
    "data",
    [
        "\ufeffemail,first_name,last_name\r\nzoe@x.example,Zoé,Ñúñez\r\n".encode(),
        "Courriel;Prénom;Nom\nzoe@x.example;Zoé;Ñúñez\n".encode("latin-1"),
        "courriel;prenom;nom\nzoe@x.example;Zoé;Ñúñez\n".encode(),
        '"E-mail";"Prénom";"Nom de famille"\r\n"zoe@x.example";"Zoé";"Ñúñez"\r\n'.encode("cp1252"),
    ],
    ids=["utf8-bom-comma", "latin1-semicolon-french", "utf8-semicolon", "cp1252-quoted"],
)
def test_import_reads_bom_latin1_and_semicolon_files(animator, session, data):
    client = client_for(animator)
    preview = upload(client, session, data)
    assert statuses(preview) == ["new"]
    client.post(url(session, "import/"), {"token": token_of(preview)})
    registration = Registration.objects.get()
    assert (registration.email, registration.first_name, registration.last_name) == (
        "zoe@x.example",
        "Zoé",
        "Ñúñez",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,mail\nA,a@x.example\n", "Missing: first_name, last_name"),
        (b"email,first_name,last_name\n" + b"a@x.example,A,B\n" * 5001, "more than 5000 rows"),
        (b"", ""),  # Django's own (translated) "the submitted file is empty"
    ],
)
def test_unusable_files_are_refused(animator, session, data, message):
    response = upload(client_for(animator), session, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Registration.objects.exists()


def test_files_over_2_mb_are_refused(animator, session):
    data = b"email,first_name,last_name\n" + b"a" * (2 * 1024 * 1024)
    response = upload(client_for(animator), session, data)
    assert response.status_code == 422
    assert "larger than 2 MB" in response.content.decode()


def test_a_tampered_token_imports_nothing(animator, session):
    client = client_for(animator)
    preview = upload(client, session, b"email,first_name,last_name\na@x.example,A,A\n")
    response = client.post(url(session, "import/"), {"token": token_of(preview) + "x"})
    assert response.status_code == 422
    assert not Registration.objects.exists()


# --- Export -------------------------------------------------------------------------------


INJECTIONS = ['=HYPERLINK("http://evil.example","x")', "+1", "-1", "@SUM(A1)", "\tx", "＝1"]


def test_formula_safe_neutralises_every_formula_start():
    for value in [*INJECTIONS, "\rx", "＋1", "－1", "＠SUM"]:
        assert formula_safe(value) == "'" + value
    assert formula_safe("Zoé") == "Zoé"
    assert formula_safe("a=1") == "a=1"


def test_export_is_formula_safe_utf8_with_bom_and_audited(animator, session):
    field = RegistrationField.objects.create(event=session.event, label="=Question")
    for i, value in enumerate(INJECTIONS):
        RegistrationFactory(
            session=session,
            email=f"p{i}@x.example",
            first_name=value,
            last_name="Zoé",
            answers={field.key: value},
            utm={"utm_source": value, "utm_campaign": "printemps"},
        )
    response = client_for(animator).get(url(session, "export.csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0][:10] == [
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
    assert rows[0][10] == "'=Question"
    assert len(rows) == 1 + len(INJECTIONS)
    for row, value in zip(rows[1:], INJECTIONS, strict=True):
        assert row[1] == "'" + value
        assert row[2] == "Zoé"
        assert row[7] == "'" + value
        assert row[9] == "printemps"
        assert row[10] == "'" + value
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[4])
    assert b"\r\n" in body
    assert AuditEntry.objects.get(action=actions.REGISTRANTS_EXPORTED).actor == animator


def test_the_csv_for_a_french_page_separates_fields_with_semicolons(animator, session):
    RegistrationFactory(session=session, email="zoe@public.example", last_name="Zoé")
    body = b"".join(french_client(animator).get(url(session, "export.csv")).streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("email;first_name;last_name;status;")
    assert lines[1].startswith("zoe@public.example;")


def test_export_queries_do_not_grow_with_rows(animator, session, django_assert_num_queries):
    RegistrationFactory(session=session)
    client = client_for(animator)
    with CaptureQueriesContext(connection) as few:
        b"".join(client.get(url(session, "export.csv")).streaming_content)
    RegistrationFactory.create_batch(40, session=session)
    with django_assert_num_queries(len(few.captured_queries)):
        body = b"".join(client.get(url(session, "export.csv")).streaming_content)
    assert body.count(b"\r\n") == 42


# --- Who may -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "other_animator"])
def test_only_the_sessions_managers_see_registrants(session, role):
    user = UserFactory(role=Role.MEMBER if role == "member" else Role.ANIMATOR)
    registration = RegistrationFactory(session=session)
    client = client_for(user)
    reg = f"/app/registrations/{registration.pk}"
    for method, path, data in [
        ("get", url(session), {}),
        ("post", url(session), {"email": "x@x.example", "first_name": "X", "last_name": "Y"}),
        ("get", url(session, "import/"), {}),
        ("post", url(session, "import/"), {"token": "x"}),
        ("get", url(session, "export.csv"), {}),
        ("post", f"{reg}/revoke/", {}),
        ("get", f"{reg}/delete/", {}),
        ("post", f"{reg}/delete/", {}),
    ]:
        assert getattr(client, method)(path, data).status_code == 403, (method, path)
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert Registration.objects.count() == 1
    assert not AuditEntry.objects.filter(action=actions.REGISTRANTS_EXPORTED).exists()
