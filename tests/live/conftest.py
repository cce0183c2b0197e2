from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import SessionFactory


@pytest.fixture
def room(animator):
    """A session starting in 10 minutes: its room is open to registrants."""
    return SessionFactory(animators=[animator], starts_at=timezone.now() + timedelta(minutes=10))
