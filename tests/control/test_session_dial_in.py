"""The animator's session page gives the session's telephone PIN, for speakers who call in,
only when Antenne has a telephone number."""

from __future__ import annotations

import pytest

from tests.conftest import client_for
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

NUMBER = "+33 1 23 45 67 89"


def test_the_session_page_gives_staff_the_session_pin(settings, animator):
    settings.PHONE_NUMBER = NUMBER
    session = SessionFactory(phone_pin="987654321", event__owner=animator)
    page = client_for(animator).get(f"/app/sessions/{session.pk}/broadcast/").content.decode()
    assert NUMBER in page
    assert "987 654 321" in page
    settings.PHONE_NUMBER = ""
    page = client_for(animator).get(f"/app/sessions/{session.pk}/broadcast/").content.decode()
    assert "987 654 321" not in page
    assert 'id="dial-in"' not in page
