"""Settings of the media engines (embedded or Janus) and of the SIP gateway, in the order
docs/settings.md lists them (`declarations.SETTINGS` places them after Accounts)."""

from __future__ import annotations

from antenne.config.setting import Setting

MEDIA: tuple[Setting, ...] = (
    Setting(
        "ANTENNE_MEDIA_ENGINE",
        "embedded",
        "`embedded` (aiortc inside the Antenne process: small webinars on one machine) or "
        "`janus` (one or more Janus servers; see docs/janus.md).",
        "Media",
    ),
    Setting(
        "ANTENNE_ICE_SERVERS",
        "",
        "STUN/TURN servers given to browsers and engines, as a JSON list of "
        '`{"urls": …, "username": …, "credential": …}` (see docs/janus.md for coturn).',
        "Media",
        shown="(none)",
    ),
    Setting(
        "ANTENNE_STAGE_MAX_STREAMS",
        "6",
        "How many feeds (cameras and screens) may be on stage at once.",
        "Media",
    ),
    Setting(
        "ANTENNE_JANUS_URLS",
        "http://127.0.0.1:8088/janus",
        "Comma-separated Janus HTTP API URLs; sessions are spread over them.",
        "Media",
        blank_is_default=True,
    ),
    Setting(
        "ANTENNE_JANUS_ADMIN_URLS",
        "http://127.0.0.1:7088/admin",
        "Comma-separated Janus admin API URLs, in the same order as ANTENNE_JANUS_URLS.",
        "Media",
        blank_is_default=True,
    ),
    Setting(
        "ANTENNE_JANUS_API_SECRET",
        "",
        "Janus's `api_secret` (janus.jcfg); required with the janus engine.",
        "Media",
        shown="(none)",
    ),
    Setting(
        "ANTENNE_JANUS_ADMIN_SECRET",
        "",
        "Janus's `admin_secret` (janus.jcfg); required with the janus engine.",
        "Media",
        shown="(none)",
    ),
    Setting(
        "ANTENNE_JANUS_ROOM_SECRET",
        "",
        "Secret Antenne sets on the VideoRoom rooms it creates (generated when unset).",
        "Media",
        shown="(none)",
    ),
    Setting(
        "ANTENNE_JANUS_EVENTS_SECRET",
        "",
        "Password Janus's event handler uses to post events to "
        "`/media/janus/events` (HTTP basic auth, user `janus`); events are refused without it.",
        "Media",
        shown="(none)",
    ),
)

TELEPHONY: tuple[Setting, ...] = (
    Setting(
        "ANTENNE_PHONE_NUMBER",
        "",
        "The public telephone number of the SIP trunk, shown to registrants with their PIN "
        "(as they should dial it, e.g. `+33 1 23 45 67 89`); empty: dial-in is not offered.",
        "Telephony",
        shown="(none)",
    ),
    Setting(
        "ANTENNE_SIP_BIND",
        "127.0.0.1:5060",
        "Address and port of the SIP gateway (UDP and TCP), started by `antenne run` and by "
        "`antenne sip`; `off` to start none.",
        "Telephony",
    ),
    Setting(
        "ANTENNE_SIP_PUBLIC_HOST",
        "",
        "Address written in SIP Contact/Via headers and in SDP (the address the trunk "
        "reaches, when the gateway is bound to 0.0.0.0 or behind NAT).",
        "Telephony",
        shown="(the bound address)",
    ),
    Setting(
        "ANTENNE_SIP_MAX_CALLS",
        "200",
        "Concurrent calls the gateway accepts; more get 503 Service Unavailable.",
        "Telephony",
    ),
    Setting(
        "ANTENNE_SIP_ALLOWED_SOURCES",
        "127.0.0.0/8,::1/128",
        "Comma-separated addresses or networks (CIDR) whose SIP requests are served: your "
        "trunk's signalling addresses. Others get 403 Forbidden.",
        "Telephony",
    ),
    Setting(
        "ANTENNE_SIP_REGISTRAR",
        "",
        "For trunks that expect a REGISTER: the registrar URI (`sip:sip.example.net`); the "
        "gateway registers and keeps its registration fresh.",
        "Telephony",
        shown="(none)",
    ),
    Setting(
        "ANTENNE_SIP_USERNAME",
        "",
        "Account (address-of-record user and digest user name) for ANTENNE_SIP_REGISTRAR.",
        "Telephony",
        shown="(none)",
    ),
    Setting(
        "ANTENNE_SIP_PASSWORD",
        "",
        "Digest password for ANTENNE_SIP_REGISTRAR.",
        "Telephony",
        shown="(none)",
    ),
    Setting(
        "ANTENNE_RATE_LIMIT_PIN",
        "10/900",
        "Wrong PINs allowed per calling number, as `count/seconds`; beyond, that number's "
        "calls are refused until the window passes. Callers with no number are counted per "
        "bucket of the PIN typed instead (see docs/telephony.md).",
        "Telephony",
    ),
)
