"""Absolute links for emails, calendar files, exports and the console."""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """Links in emails and on the console come from ANTENNE_BASE_URL, never from a request."""
    return f"{settings.BASE_URL}{path}"
