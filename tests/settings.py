"""Test settings: the real settings module, with a throw-away data directory.

Environment variables are honoured (CI sets DATABASE_URL to PostgreSQL)."""

import os
import tempfile

os.environ.setdefault("ANTENNE_DATA_DIR", tempfile.mkdtemp(prefix="antenne-test-"))
os.environ.setdefault("ANTENNE_BASE_URL", "https://antenne.test")
os.environ.setdefault("ANTENNE_EMAIL", "mailbox")

from antenne.settings import *  # noqa: F403

# The base URL is https, so cookies are Secure; the test client speaks plain http.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
ALLOWED_HOSTS = ["antenne.test", "testserver", "127.0.0.1", "localhost"]
WHITENOISE_AUTOREFRESH = True
