"""A member's own profile: name, language and time zone."""

from __future__ import annotations

import re
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
    assert '<select name="time_zone"' in page
    assert '<option value="America/Cayenne">America/Cayenne</option>' in page
    response = client.post(
        "/app/profile/",
        {"full_name": "  Inès   Martin ", "language": "en", "time_zone": "America/Toronto"},
    )
    assert response["Location"] == "/app/profile/"
    assert response.cookies["django_language"].value == "en"
    member.refresh_from_db()
    assert (member.full_name, member.language, member.time_zone) == (
        "Inès Martin",
        "en",
        "America/Toronto",
    )
    entry = AuditEntry.objects.get(action=actions.PROFILE_UPDATED)
    assert entry.actor == member
    assert entry.data["time_zone"] == {"from": "Europe/Paris", "to": "America/Toronto"}
    # The next pages are in English, with times in the new zone.
    assert "Your profile is saved." in client.get("/app/profile/").content.decode()
    page = client.get(f"/app/calendar/?date={session.starts_at.date()}")
    assert page["Content-Language"] == "en"
    assert '<time datetime="2027-03-28T04:00:00-04:00">04:00</time>' in page.content.decode()


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "../../etc/passwd", "europe/paris", "", "Europe/Kiev", "US/Eastern"]
)
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


def test_the_time_zone_list_has_current_names_only_and_keeps_an_older_one(member):
    page = client_for(member).get("/app/profile/").content.decode()
    offered = re.findall(r'<option value="([^"]+)"', page.split('name="time_zone"')[1])
    assert offered[0] == "Europe/Paris"  # France first
    assert "Europe/Kyiv" in offered
    assert "Asia/Kolkata" in offered
    for alias in ("Europe/Kiev", "Asia/Calcutta", "America/Montreal", "US/Eastern", "GMT+0"):
        assert alias not in offered
    assert 300 < len(offered) < 450  # not the 599 raw names
    # A zone stored before under an alias is kept when the profile is saved again.
    member.time_zone = "America/Montreal"
    member.save()
    client = client_for(member)
    assert (
        '<option value="America/Montreal" selected>' in client.get("/app/profile/").content.decode()
    )
    response = client.post(
        "/app/profile/", {"full_name": "X", "language": "fr", "time_zone": "America/Montreal"}
    )
    assert response.status_code == 302
