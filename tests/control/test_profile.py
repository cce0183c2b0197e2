"""A member's own profile: name, language and time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from antenne.accounts import services
from antenne.core import actions
from antenne.core.exceptions import PermissionDenied
from antenne.core.models import AuditEntry
from tests.conftest import client_for
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_member_sets_name_language_and_time_zone(member):
    session = SessionFactory(
        starts_at=datetime(2027, 3, 28, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    )
    client = client_for(member)
    page = client.get("/app/profile/").content.decode()
    assert 'list="time-zones"' in page
    assert '<option value="America/Cayenne">' in page
    response = client.post(
        "/app/profile/",
        {"full_name": "  Inès   Martin ", "language": "en", "time_zone": "America/Montreal"},
    )
    assert response["Location"] == "/app/profile/"
    assert response.cookies["django_language"].value == "en"
    member.refresh_from_db()
    assert (member.full_name, member.language, member.time_zone) == (
        "Inès Martin",
        "en",
        "America/Montreal",
    )
    entry = AuditEntry.objects.get(action=actions.PROFILE_UPDATED)
    assert entry.actor == member
    assert entry.data["time_zone"] == {"from": "Europe/Paris", "to": "America/Montreal"}
    # The next pages are in English, with times in the new zone.
    assert "Your profile is saved." in client.get("/app/profile/").content.decode()
    page = client.get(f"/app/calendar/?date={session.starts_at.date()}")
    assert page["Content-Language"] == "en"
    assert '<time datetime="2027-03-28T04:00:00-04:00">04:00</time>' in page.content.decode()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "europe/paris", ""])
def test_an_unknown_time_zone_is_refused(member, zone):
    response = client_for(member).post(
        "/app/profile/", {"full_name": "X", "language": "fr", "time_zone": zone}
    )
    assert response.status_code == 422
    assert 'id="error-summary"' in response.content.decode()
    member.refresh_from_db()
    assert member.time_zone == "Europe/Paris"
    assert "django_language" not in response.cookies
    assert not AuditEntry.objects.filter(action=actions.PROFILE_UPDATED).exists()


def test_only_oneself_or_an_admin_changes_a_profile(member, admin):
    other = UserFactory()
    with pytest.raises(PermissionDenied):
        services.update_profile(
            actor=other, user=member, full_name="", language="fr", time_zone="UTC"
        )
    services.update_profile(actor=admin, user=member, full_name="", language="fr", time_zone="UTC")
    member.refresh_from_db()
    assert member.time_zone == "UTC"
