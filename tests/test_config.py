"""The defaults docs/settings.md states are the values Antenne runs with.

`antenne.settings` is evaluated afresh with no ANTENNE_* variable (and a throw-away home),
then each setting's effective value is written the way docs/settings.md writes a default
and compared with the documented one. A default changed in one place only (the
declarations, settings.py or the generated document) fails here or in
`test_settings_reference_is_current`."""

from __future__ import annotations

import os
import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import antenne
from antenne import config

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = Path(antenne.__file__).parent / "settings.py"
ISSUER = "https://issuer.test/idp"
HTTPS_BASE_URL = "https://antenne.test"
# "(empty)", "(empty: any domain)", "(none)": no value.
NO_VALUE = re.compile(r"\((?:empty|none)(?:: [^)]*)?\)")


def documented_defaults() -> dict[str, str]:
    text = (ROOT / "docs" / "settings.md").read_text()
    return dict(re.findall(r"^\| `([A-Z_]+)` \| (.*?) \| ", text, re.MULTILINE))


def fresh_settings(monkeypatch: pytest.MonkeyPatch, home: Path, **env: str) -> dict[str, Any]:
    """The module-level values of antenne/settings.py run with only `env` set."""
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("ANTENNE_") or name in ("DATABASE_URL", "REDIS_URL"):
                patch.delenv(name)
        patch.delenv("XDG_DATA_HOME", raising=False)
        patch.setenv("HOME", str(home))
        for name, value in env.items():
            patch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))


def as_documented(
    clean: dict[str, Any], other: dict[str, Any], *, home: Path, xdg: Path
) -> dict[str, Callable[[], str]]:
    """Each variable's effective default, written as docs/settings.md writes it. `clean` ran
    with no variable set; `other` with only an https base URL, an OpenID issuer and
    XDG_DATA_HOME, for the defaults computed from those."""
    data_dir = clean["DATA_DIR"]
    database = clean["DATABASES"]["default"]
    secret_file = data_dir / "secret_key"

    def flag(value: bool) -> str:
        return "true" if value else "false"

    def rate(value: tuple[int, int]) -> str:
        return f"{value[0]}/{value[1]}"

    def data_dir_default() -> str:
        with_xdg = str(other["DATA_DIR"]).replace(str(xdg), "$XDG_DATA_HOME")
        return f"{with_xdg} ({str(data_dir).replace(str(home), '~')})"

    def secret_key_default() -> str:
        if secret_file.read_text().strip() != clean["SECRET_KEY"]:
            return "a key that is not the file's"
        mode = secret_file.stat().st_mode & 0o777
        return f"generated once into DATA_DIR/{secret_file.name} (mode {mode:04o})"

    def allowed_hosts_default() -> str:
        first, *rest = other["ALLOWED_HOSTS"]
        if first != "antenne.test":
            return repr(other["ALLOWED_HOSTS"])
        return f"the host of ANTENNE_BASE_URL, plus {' and '.join(rest)}"

    def database_default() -> str:
        if database["ENGINE"] != "django.db.backends.sqlite3":
            return database["ENGINE"]
        return f"sqlite:///{database['NAME']}".replace(str(data_dir), "DATA_DIR")

    def redis_default() -> str:
        in_memory = clean["CHANNEL_LAYERS"]["default"]["BACKEND"].endswith("InMemoryChannelLayer")
        return clean["REDIS_URL"] or ("" if in_memory else "a channel layer that is not in memory")

    def secure_cookies_default() -> str:
        if clean["SECURE_COOKIES"] or not other["SECURE_COOKIES"]:
            return flag(clean["SECURE_COOKIES"])
        return "true when ANTENNE_BASE_URL starts with https://"

    def tls_default() -> str:
        tls, ssl = clean["EMAIL_USE_TLS"], clean["EMAIL_USE_SSL"]
        return "ssl" if ssl else "starttls" if tls else "none"

    def endpoint(setting: str) -> Callable[[], str]:
        return lambda: other[setting].replace(ISSUER, "ISSUER")

    return {
        "ANTENNE_DATA_DIR": data_dir_default,
        "ANTENNE_BASE_URL": lambda: clean["BASE_URL"],
        "ANTENNE_SECRET_KEY": secret_key_default,
        "ANTENNE_DEBUG": lambda: flag(clean["DEBUG"]),
        "ANTENNE_ALLOWED_HOSTS": allowed_hosts_default,
        "ANTENNE_WORKSPACE_NAME": lambda: clean["WORKSPACE_NAME"],
        "ANTENNE_WORKSPACE_EMAIL_DOMAINS": lambda: ",".join(clean["WORKSPACE_EMAIL_DOMAINS"]),
        "ANTENNE_LANGUAGE": lambda: clean["LANGUAGE_CODE"],
        "ANTENNE_TIME_ZONE": lambda: clean["TIME_ZONE"],
        "ANTENNE_LOG_LEVEL": lambda: clean["LOGGING"]["loggers"]["antenne"]["level"],
        "ANTENNE_CONFLICT_BUFFER_MINUTES": lambda: str(clean["CONFLICT_BUFFER_MINUTES"]),
        "ANTENNE_MAX_PARALLEL_SESSIONS": lambda: str(clean["MAX_PARALLEL_SESSIONS"]),
        "ANTENNE_CONSENT_TEXT": lambda: clean["CONSENT_TEXT"] or "(a French and English default)",
        "ANTENNE_PRIVACY_URL": lambda: clean["PRIVACY_URL"],
        "ANTENNE_COVER_MAX_MB": lambda: str(clean["COVER_MAX_BYTES"] // (1024 * 1024)),
        "ANTENNE_AUTO_EXPORT_ON_END": lambda: flag(clean["AUTO_EXPORT_ON_END"]),
        "ANTENNE_EXPORT_LINK_DAYS": lambda: str(clean["EXPORT_LINK_DAYS"]),
        "ANTENNE_RETENTION_DAYS": lambda: str(clean["RETENTION_DAYS"]),
        "DATABASE_URL": database_default,
        "ANTENNE_DB_POOL_SIZE": lambda: str(clean["DB_POOL_SIZE"]),
        "REDIS_URL": redis_default,
        "ANTENNE_RUN_WORKER": lambda: flag(clean["RUN_WORKER"]),
        "ANTENNE_WORKER_INTERVAL": lambda: f"{clean['WORKER_INTERVAL']:g}",
        "ANTENNE_EMAIL": lambda: clean["EMAIL_MODE"],
        "ANTENNE_EMAIL_HOST": lambda: clean["EMAIL_HOST"],
        "ANTENNE_EMAIL_PORT": lambda: str(clean["EMAIL_PORT"]),
        "ANTENNE_EMAIL_USER": lambda: clean["EMAIL_HOST_USER"],
        "ANTENNE_EMAIL_PASSWORD": lambda: clean["EMAIL_HOST_PASSWORD"],
        "ANTENNE_EMAIL_TLS": tls_default,
        "ANTENNE_EMAIL_FROM": lambda: clean["DEFAULT_FROM_EMAIL"],
        "ANTENNE_EMAIL_TIMEOUT": lambda: str(clean["EMAIL_TIMEOUT"]),
        "ANTENNE_EMAIL_RETRY_SECONDS": lambda: str(clean["EMAIL_RETRY_SECONDS"]),
        "ANTENNE_EMAIL_MAX_ATTEMPTS": lambda: str(clean["EMAIL_MAX_ATTEMPTS"]),
        "ANTENNE_SECOND_APPROVAL_THRESHOLD": lambda: str(clean["SECOND_APPROVAL_THRESHOLD"]),
        "ANTENNE_CAMPAIGN_CANARY_SIZE": lambda: str(clean["CAMPAIGN_CANARY_SIZE"]),
        "ANTENNE_CAMPAIGN_CANARY_PAUSE": lambda: str(clean["CAMPAIGN_CANARY_PAUSE"]),
        "ANTENNE_FOLLOWUP_DELAY_MINUTES": lambda: str(clean["FOLLOWUP_DELAY_MINUTES"]),
        "ANTENNE_LIVE_MAX_CONNECTIONS": lambda: str(clean["LIVE_MAX_CONNECTIONS"]),
        "ANTENNE_LIVE_JOIN_TIMEOUT": lambda: str(clean["LIVE_JOIN_TIMEOUT"]),
        "ANTENNE_LIVE_MAX_UNJOINED": lambda: str(clean["LIVE_MAX_UNJOINED"]),
        "ANTENNE_LOGIN_LINK_MINUTES": lambda: str(clean["LOGIN_LINK_MINUTES"]),
        "ANTENNE_SESSION_DAYS": lambda: f"{clean['SESSION_COOKIE_AGE'] / 86400:g}",
        "ANTENNE_OIDC_ISSUER": lambda: "" if not clean["OIDC_ENABLED"] else "OpenID Connect on",
        "ANTENNE_OIDC_CLIENT_ID": lambda: other["OIDC_RP_CLIENT_ID"],
        "ANTENNE_OIDC_CLIENT_SECRET": lambda: other["OIDC_RP_CLIENT_SECRET"],
        "ANTENNE_OIDC_SCOPES": lambda: other["OIDC_RP_SCOPES"],
        "ANTENNE_OIDC_ACR_VALUES": lambda: other["OIDC_AUTH_REQUEST_EXTRA_PARAMS"]["acr_values"],
        "ANTENNE_OIDC_SIGN_ALGO": lambda: other["OIDC_RP_SIGN_ALGO"],
        "ANTENNE_OIDC_AUTHORIZATION_ENDPOINT": endpoint("OIDC_OP_AUTHORIZATION_ENDPOINT"),
        "ANTENNE_OIDC_TOKEN_ENDPOINT": endpoint("OIDC_OP_TOKEN_ENDPOINT"),
        "ANTENNE_OIDC_USERINFO_ENDPOINT": endpoint("OIDC_OP_USER_ENDPOINT"),
        "ANTENNE_OIDC_JWKS_ENDPOINT": endpoint("OIDC_OP_JWKS_ENDPOINT"),
        "ANTENNE_MEDIA_ENGINE": lambda: clean["MEDIA_ENGINE"],
        "ANTENNE_ICE_SERVERS": lambda: str(clean["ICE_SERVERS"] or ""),
        "ANTENNE_STAGE_MAX_STREAMS": lambda: str(clean["STAGE_MAX_STREAMS"]),
        "ANTENNE_JANUS_URLS": lambda: ",".join(clean["JANUS_URLS"]),
        "ANTENNE_JANUS_ADMIN_URLS": lambda: ",".join(clean["JANUS_ADMIN_URLS"]),
        "ANTENNE_JANUS_API_SECRET": lambda: clean["JANUS_API_SECRET"],
        "ANTENNE_JANUS_ADMIN_SECRET": lambda: clean["JANUS_ADMIN_SECRET"],
        "ANTENNE_JANUS_ROOM_SECRET": lambda: clean["JANUS_ROOM_SECRET"],
        "ANTENNE_JANUS_EVENTS_SECRET": lambda: clean["JANUS_EVENTS_SECRET"],
        "ANTENNE_PHONE_NUMBER": lambda: clean["PHONE_NUMBER"],
        "ANTENNE_SIP_BIND": lambda: clean["SIP_BIND"],
        "ANTENNE_SIP_PUBLIC_HOST": lambda: clean["SIP_PUBLIC_HOST"] or "(the bound address)",
        "ANTENNE_SIP_MAX_CALLS": lambda: str(clean["SIP_MAX_CALLS"]),
        "ANTENNE_SIP_ALLOWED_SOURCES": lambda: ",".join(map(str, clean["SIP_ALLOWED_SOURCES"])),
        "ANTENNE_SIP_REGISTRAR": lambda: clean["SIP_REGISTRAR"],
        "ANTENNE_SIP_USERNAME": lambda: clean["SIP_USERNAME"],
        "ANTENNE_SIP_PASSWORD": lambda: clean["SIP_PASSWORD"],
        "ANTENNE_RATE_LIMIT_PIN": lambda: rate(clean["RATE_LIMIT_PIN"]),
        "ANTENNE_RATE_LIMIT_LOGIN": lambda: rate(clean["RATE_LIMIT_LOGIN"]),
        "ANTENNE_RATE_LIMIT_ACCESS_REQUEST": lambda: rate(clean["RATE_LIMIT_ACCESS_REQUEST"]),
        "ANTENNE_RATE_LIMIT_SECRET": lambda: rate(clean["RATE_LIMIT_SECRET"]),
        "ANTENNE_RATE_LIMIT_REGISTER": lambda: rate(clean["RATE_LIMIT_REGISTER"]),
        "ANTENNE_RATE_LIMIT_REGISTER_CLIENT": lambda: rate(clean["RATE_LIMIT_REGISTER_CLIENT"]),
        "ANTENNE_RATE_LIMIT_LIVE_JOIN": lambda: rate(clean["RATE_LIMIT_LIVE_JOIN"]),
        "ANTENNE_TRUSTED_PROXIES": lambda: ",".join(map(str, clean["TRUSTED_PROXIES"])),
        "ANTENNE_SECURE_COOKIES": secure_cookies_default,
    }


def test_documented_defaults_are_the_ones_antenne_runs_with(monkeypatch, tmp_path):
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    clean = fresh_settings(monkeypatch, home)
    other = fresh_settings(
        monkeypatch,
        home,
        XDG_DATA_HOME=str(xdg),
        ANTENNE_BASE_URL=HTTPS_BASE_URL,
        ANTENNE_OIDC_ISSUER=ISSUER,
    )
    documented = documented_defaults()
    effective = as_documented(clean, other, home=home, xdg=xdg)
    assert set(documented) == set(effective), "docs/settings.md and this test list other settings"

    def value(text: str) -> str:
        return "" if NO_VALUE.fullmatch(text) else text

    wrong = {
        name: (text, effective[name]())
        for name, text in documented.items()
        if value(text) != value(effective[name]())
    }
    assert not wrong, f"documented default != effective one: {wrong}"


def test_a_default_is_declared_once_and_documented():
    """A default is either a value the readers use or, when empty, documented in words;
    a reader refuses a computed default for a setting that declares its own."""
    for setting in config.SETTINGS:
        assert bool(setting.default) != bool(setting.shown), setting.name
        assert setting.documented_default == (setting.shown or setting.default)
    with pytest.raises(ValueError, match="declares its default"):
        config.get("ANTENNE_EMAIL_HOST", computed="mail.example")
