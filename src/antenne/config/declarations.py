"""Every environment variable Antenne reads: its name, default, meaning and group.

`settings.py` reads values only through `antenne.config`'s readers, and `docs/settings.md` is
generated from `SETTINGS` by `antenne settings --markdown` (a test checks that the file is
current), so a setting cannot exist without being documented. The media and telephony
engines' settings are declared in `media_telephony.py`.
"""

from __future__ import annotations

from antenne.config.media_telephony import MEDIA, TELEPHONY
from antenne.config.setting import Setting

SETTINGS: tuple[Setting, ...] = (
    # --- General
    Setting(
        "ANTENNE_DATA_DIR",
        "",
        "Directory holding the SQLite database, the generated secret key, uploaded files "
        "and exports. `antenne run --data-dir DIR` sets it too. It is private to the user "
        "running Antenne: mode 0700, its files 0600.",
        "General",
        shown="$XDG_DATA_HOME/antenne (~/.local/share/antenne)",
    ),
    Setting(
        "ANTENNE_BASE_URL",
        "http://127.0.0.1:8000",
        "Public address of this Antenne. Every link Antenne emails or prints is built from "
        "it, never from a request's Host header. `antenne run` sets it from --host/--port "
        "when it is not set.",
        "General",
        blank_is_default=True,
    ),
    Setting(
        "ANTENNE_SECRET_KEY",
        "",
        "Django secret key. Set it explicitly when several processes or machines serve the "
        "same Antenne.",
        "General",
        shown="generated once into DATA_DIR/secret_key (mode 0600)",
    ),
    Setting(
        "ANTENNE_DEBUG",
        "false",
        "Django debug mode, for development only. `antenne run` refuses to start with debug "
        "on a non-loopback host.",
        "General",
    ),
    Setting(
        "ANTENNE_ALLOWED_HOSTS",
        "",
        "Comma-separated host names this Antenne answers to.",
        "General",
        shown="the host of ANTENNE_BASE_URL, plus 127.0.0.1 and localhost",
    ),
    Setting(
        "ANTENNE_WORKSPACE_NAME",
        "Antenne",
        "Name of the workspace (the organisation), shown in the header and in emails.",
        "General",
        blank_is_default=True,
    ),
    Setting(
        "ANTENNE_WORKSPACE_EMAIL_DOMAINS",
        "",
        "Comma-separated email domains allowed to request animator access (for example "
        "`beta.gouv.fr,numerique.gouv.fr`). Empty accepts any address; admins still review "
        "every request.",
        "General",
        shown="(empty: any domain)",
    ),
    Setting(
        "ANTENNE_LANGUAGE",
        "fr",
        "Default interface language (`fr` or `en`). Visitors can switch with the language "
        "selector.",
        "General",
    ),
    Setting(
        "ANTENNE_TIME_ZONE",
        "Europe/Paris",
        "Time zone used to show dates when the viewer's own zone is unknown.",
        "General",
    ),
    Setting(
        "ANTENNE_LOG_LEVEL",
        "INFO",
        "Log level of Antenne's own loggers (DEBUG, INFO, WARNING, ERROR).",
        "General",
    ),
    # --- Webinars
    Setting(
        "ANTENNE_CONFLICT_BUFFER_MINUTES",
        "30",
        "Sessions of the workspace that end or start within this many minutes of a proposed "
        "slot are listed as near conflicts the animator must confirm. A gap of exactly this "
        "many minutes is a conflict; one minute more is not.",
        "Webinars",
    ),
    Setting(
        "ANTENNE_MAX_PARALLEL_SESSIONS",
        "1",
        "How many sessions of the workspace may run at the same time (1: one shared "
        "account). Over the limit, animators are refused; admins may confirm.",
        "Webinars",
    ),
    Setting(
        "ANTENNE_CONSENT_TEXT",
        "",
        "Text of the consent checkbox on registration pages. Changing it changes the "
        "consent version stored with each registration.",
        "Webinars",
        shown="(a French and English default)",
    ),
    Setting(
        "ANTENNE_PRIVACY_URL",
        "",
        "Address of the organisation's privacy notice, linked from registration pages.",
        "Webinars",
        shown="(empty: no link)",
    ),
    Setting(
        "ANTENNE_COVER_MAX_MB",
        "5",
        "Largest cover image a webinar may have, in megabytes (JPEG, PNG or WebP). Covers "
        "are re-encoded on upload, at most 2400 pixels wide and high, without their metadata.",
        "Webinars",
    ),
    # --- Analytics and data protection
    Setting(
        "ANTENNE_AUTO_EXPORT_ON_END",
        "true",
        "When a session ends, export its registrants, attendance, chat, Q&A and polls "
        "(XLSX) and email each of its animators a personal download link.",
        "Analytics and data protection",
    ),
    Setting(
        "ANTENNE_EXPORT_LINK_DAYS",
        "7",
        "Days an emailed export download link works. It only works for the person it was "
        "sent to, logged in; the file stays downloadable from the session's report until "
        "the retention period ends.",
        "Analytics and data protection",
    ),
    Setting(
        "ANTENNE_RETENTION_DAYS",
        "365",
        "Days after a session is over before its registrants' personal data (registrations, "
        "answers, attendance, their chat messages and questions, email addresses) and its "
        "export files are deleted; the report's figures are kept, without names. Export "
        "files are also deleted this many days after they are made. 0 keeps everything. "
        "Applied every hour by the worker and by `antenne manage purge_personal_data`.",
        "Analytics and data protection",
    ),
    # --- Engines
    Setting(
        "DATABASE_URL",
        "",
        "Database. Use `postgres://user:password@host:5432/name` in production.",
        "Engines",
        shown="sqlite:///DATA_DIR/antenne.sqlite3",
    ),
    Setting(
        "ANTENNE_DB_POOL_SIZE",
        "0",
        "PostgreSQL only: size of a connection pool per process (psycopg_pool). 0 opens a "
        "connection per request, which is always safe; a pool saves the connection set-up "
        "(see docs/benchmarks.md). Keep processes times size under PostgreSQL's max_connections.",
        "Engines",
    ),
    Setting(
        "REDIS_URL",
        "",
        "Redis server for the live-room channel layer and the shared cache (rate limits). "
        "Required as soon as more than one Antenne process serves web traffic.",
        "Engines",
        shown="(empty: in-memory channel layer and cache)",
    ),
    Setting(
        "ANTENNE_RUN_WORKER",
        "true",
        "Whether `antenne run` starts a background-task worker inside its own process. Set it "
        "to false when separate `antenne worker` processes do the work.",
        "Engines",
    ),
    Setting(
        "ANTENNE_WORKER_INTERVAL",
        "1",
        "Seconds a background worker waits between two polls of an empty task queue.",
        "Engines",
    ),
    # --- Email
    Setting(
        "ANTENNE_EMAIL",
        "mailbox",
        "How emails leave: `mailbox` keeps every outgoing message in a local mailbox that "
        "admins read in the back office (nothing needed to try Antenne); `smtp` sends through "
        "the SMTP relay below; `console` prints messages on the standard output.",
        "Email",
    ),
    Setting("ANTENNE_EMAIL_HOST", "localhost", "SMTP relay host (smtp mode).", "Email"),
    Setting("ANTENNE_EMAIL_PORT", "1025", "SMTP relay port (smtp mode).", "Email"),
    Setting(
        "ANTENNE_EMAIL_USER",
        "",
        "SMTP user name, if the relay needs one.",
        "Email",
        shown="(empty)",
    ),
    Setting(
        "ANTENNE_EMAIL_PASSWORD",
        "",
        "SMTP password, if the relay needs one.",
        "Email",
        shown="(empty)",
    ),
    Setting(
        "ANTENNE_EMAIL_TLS",
        "none",
        "`none`, `starttls` or `ssl` (implicit TLS, usually port 465).",
        "Email",
    ),
    Setting(
        "ANTENNE_EMAIL_FROM",
        "Antenne <noreply@localhost>",
        "Sender address of every email Antenne sends.",
        "Email",
    ),
    Setting(
        "ANTENNE_EMAIL_TIMEOUT",
        "20",
        "Seconds before an SMTP connection attempt or command is abandoned.",
        "Email",
    ),
    Setting(
        "ANTENNE_EMAIL_RETRY_SECONDS",
        "30",
        "Base delay before an email that met a temporary failure (SMTP 4xx reply, relay "
        "unreachable) is tried again; it doubles at each attempt (±20 % jitter), up to one hour.",
        "Email",
    ),
    Setting(
        "ANTENNE_EMAIL_MAX_ATTEMPTS",
        "8",
        "Attempts after which an email that keeps meeting temporary failures is marked failed.",
        "Email",
    ),
    Setting(
        "ANTENNE_SECOND_APPROVAL_THRESHOLD",
        "500",
        "A message to more recipients than this (a follow-up, a message to registrants) needs "
        "the approval of a second animator of the session or an admin before it goes out.",
        "Email",
    ),
    Setting(
        "ANTENNE_CAMPAIGN_CANARY_SIZE",
        "10",
        "How many recipients of an approved message get it first; the rest follow after "
        "`ANTENNE_CAMPAIGN_CANARY_PAUSE` seconds, leaving time to check the first ones and stop.",
        "Email",
    ),
    Setting(
        "ANTENNE_CAMPAIGN_CANARY_PAUSE",
        "300",
        "Pause in seconds between a message's first batch and the rest of its recipients.",
        "Email",
    ),
    Setting(
        "ANTENNE_FOLLOWUP_DELAY_MINUTES",
        "60",
        "Default delay after the end of a session before its approved follow-ups go out "
        "(editable per session).",
        "Email",
    ),
    Setting(
        "ANTENNE_LIVE_MAX_CONNECTIONS",
        "3",
        "How many devices may be in a session's live room at once with the same personal join "
        "link (0: no limit).",
        "Live room",
    ),
    Setting(
        "ANTENNE_LIVE_JOIN_TIMEOUT",
        "10",
        "Seconds a live-room connection may stay open without joining (sending `join` with a "
        "valid link or login); it is then closed (code 4408).",
        "Live room",
    ),
    Setting(
        "ANTENNE_LIVE_MAX_UNJOINED",
        "20",
        "How many live-room connections that have not joined yet one client address may hold "
        "at once, per web process; more are refused at the handshake.",
        "Live room",
    ),
    # --- Accounts
    Setting(
        "ANTENNE_LOGIN_LINK_MINUTES",
        "15",
        "Validity of an emailed login link, in minutes. A link works once.",
        "Accounts",
    ),
    Setting(
        "ANTENNE_SESSION_DAYS",
        "14",
        "How long a back-office login lasts without activity, in days.",
        "Accounts",
    ),
    Setting(
        "ANTENNE_OIDC_ISSUER",
        "",
        "Issuer URL of an OpenID Connect provider (ProConnect: "
        "`https://auth.agentconnect.gouv.fr/api/v2`). When set, the login page offers it. "
        "Endpoints default to ProConnect's layout under the issuer "
        "(`/authorize`, `/token`, `/userinfo`, `/jwks`). Logging out of Antenne does not end "
        "the provider's session.",
        "Accounts",
        shown="(empty: OpenID Connect login off)",
    ),
    Setting("ANTENNE_OIDC_CLIENT_ID", "", "OpenID Connect client id.", "Accounts", shown="(empty)"),
    Setting(
        "ANTENNE_OIDC_CLIENT_SECRET",
        "",
        "OpenID Connect client secret.",
        "Accounts",
        shown="(empty)",
    ),
    Setting(
        "ANTENNE_OIDC_SCOPES",
        "openid email given_name usual_name",
        "Scopes asked of the OpenID Connect provider.",
        "Accounts",
    ),
    Setting(
        "ANTENNE_OIDC_ACR_VALUES",
        "eidas1",
        "`acr_values` sent with the authorisation request (ProConnect asks for eidas1). "
        "Empty sends none.",
        "Accounts",
    ),
    Setting(
        "ANTENNE_OIDC_SIGN_ALGO",
        "RS256",
        "Algorithm of the provider's ID token and userinfo signatures.",
        "Accounts",
    ),
    Setting(
        "ANTENNE_OIDC_AUTHORIZATION_ENDPOINT",
        "",
        "Override of the provider's authorisation endpoint.",
        "Accounts",
        shown="ISSUER/authorize",
    ),
    Setting(
        "ANTENNE_OIDC_TOKEN_ENDPOINT",
        "",
        "Override of the token endpoint.",
        "Accounts",
        shown="ISSUER/token",
    ),
    Setting(
        "ANTENNE_OIDC_USERINFO_ENDPOINT",
        "",
        "Override of the userinfo endpoint.",
        "Accounts",
        shown="ISSUER/userinfo",
    ),
    Setting(
        "ANTENNE_OIDC_JWKS_ENDPOINT",
        "",
        "Override of the JWKS endpoint.",
        "Accounts",
        shown="ISSUER/jwks",
    ),
    # --- Media, Telephony (media_telephony.py)
    *MEDIA,
    *TELEPHONY,
    # --- Security
    Setting(
        "ANTENNE_RATE_LIMIT_LOGIN",
        "5/900",
        "Login-link requests allowed per client address, and login links sent per email "
        "address (further requests for that address are answered the same and send "
        "nothing), as `count/seconds`.",
        "Security",
    ),
    Setting(
        "ANTENNE_RATE_LIMIT_ACCESS_REQUEST",
        "5/3600",
        "Animator access requests allowed per client address, as `count/seconds`.",
        "Security",
    ),
    Setting(
        "ANTENNE_RATE_LIMIT_SECRET",
        "30/600",
        "Attempts at a secret (login link, setup link, API token; wrong join and speaker "
        "links, on the pages and in the live room) allowed per client address, as "
        "`count/seconds`.",
        "Security",
    ),
    Setting(
        "ANTENNE_RATE_LIMIT_REGISTER",
        "5/900",
        "Emails the public registration page and “lost your link?” send to one address "
        "for one webinar (further requests are answered the same and send nothing), as "
        "`count/seconds`.",
        "Security",
    ),
    Setting(
        "ANTENNE_RATE_LIMIT_REGISTER_CLIENT",
        "60/900",
        "Public registrations and join-link re-sends allowed per client address, as "
        "`count/seconds` (generous: many people share one office network address).",
        "Security",
    ),
    Setting(
        "ANTENNE_RATE_LIMIT_LIVE_JOIN",
        "30/60",
        "Joins of the live room allowed per personal link, speaker link or member, as "
        "`count/seconds` (a reconnecting page joins again; several devices count together). "
        "Failed guesses of a link count per client address in `ANTENNE_RATE_LIMIT_SECRET`.",
        "Security",
    ),
    Setting(
        "ANTENNE_TRUSTED_PROXIES",
        "",
        "Comma-separated addresses or networks of the reverse proxies in front of Antenne "
        "(`127.0.0.1`, `10.0.0.0/8`). Only a connection from one of them may say who the "
        "client is (`X-Forwarded-For`) and whether it came over https (`X-Forwarded-Proto`); "
        "rate limits then count per client address. Set it when a proxy forwards the traffic "
        "(`127.0.0.1` for nginx on the same machine): otherwise every client behind it shares "
        "the proxy's address.",
        "Security",
        shown="(empty: no proxy is trusted, forwarded headers are ignored)",
    ),
    Setting(
        "ANTENNE_SECURE_COOKIES",
        "",
        "Mark session and CSRF cookies Secure and send HSTS.",
        "Security",
        shown="true when ANTENNE_BASE_URL starts with https://",
    ),
)

BY_NAME = {s.name: s for s in SETTINGS}
