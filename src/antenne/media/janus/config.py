"""Janus's configuration for Antenne: the hardened templates of `conf/`, rendered.

`render_config` is what `antenne janus-config DIR` calls; `janus -F DIR` then starts a Janus
that loads the VideoRoom plugin, the HTTP transport (API and admin API on one address,
each behind its secret) and the sample event handler posting to Antenne — nothing else.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).resolve().parent / "conf"

# Everything a Janus 1.x build may ship besides what Antenne uses. Janus has no "enable only"
# switch: it loads every library of its folders but those listed here.
DISABLED_PLUGINS = (
    "audiobridge",
    "duktape",
    "echotest",
    "lua",
    "nosip",
    "recordplay",
    "sip",
    "sipre",
    "streaming",
    "textroom",
    "videocall",
    "voicemail",
)
DISABLED_TRANSPORTS = ("websockets", "rabbitmq", "mqtt", "nanomsg", "pfunix")
DISABLED_EVENT_HANDLERS = ("wsevh", "rabbitmqevh", "mqttevh", "nanomsgevh", "gelfevh")
DISABLED_LOGGERS = ("jsonlog",)

# Interfaces no attendee can reach: local virtual machines, containers and bridges.
DEFAULT_ICE_IGNORE_LIST = "vmnet,docker,virbr,veth,br-"
STATS_PERIOD = 5  # seconds between two media stats events per handle

_PORT_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")


def render_config(
    directory: str | Path,
    *,
    api_secret: str,
    admin_secret: str,
    events_url: str,
    events_secret: str,
    http_bind: str = "127.0.0.1",
    http_port: int = 8088,
    admin_port: int = 7088,
    rtp_port_range: str = "20000-40000",
    nat_1_1: str = "",
    ice_ignore_list: str = DEFAULT_ICE_IGNORE_LIST,
    ice_enforce_list: str = "",
    debug_level: int = 4,
    stats_period: int = STATS_PERIOD,
) -> list[Path]:
    """Write janus.jcfg and the configuration of the HTTP transport, the VideoRoom plugin
    and the sample event handler into `directory` (created if needed, files mode 0600 as
    they hold secrets); returns the paths written. Raises ValueError on a missing secret
    or a malformed value: Janus would otherwise start with defaults that are not safe.

    - `events_url`: Antenne's `/media/janus/events` as Janus reaches it
      (`ANTENNE_BASE_URL` + `/media/janus/events`, or a loopback address);
      `events_secret` is `ANTENNE_JANUS_EVENTS_SECRET`.
    - `http_bind`: the one IP address the API and admin API listen on.
    - `nat_1_1`: the public IP address(es) of a server behind a 1:1 NAT (cloud instances),
      put in Janus's ICE candidates (`nat_1_1_mapping`).
    - `ice_enforce_list`: only these interfaces or addresses for ICE (empty: all but the
      ignore list).
    - `stats_period`: seconds between two media stats reports per handle (the console's
      figures); each is one event posted to Antenne per connection.
    """
    for name, secret in (
        ("api_secret", api_secret),
        ("admin_secret", admin_secret),
        ("events_secret", events_secret),
    ):
        if not secret or not secret.strip():
            raise ValueError(f"{name} is required (Janus must not run without it)")
    if api_secret == admin_secret:
        raise ValueError("api_secret and admin_secret must differ")
    if not re.match(r"^https?://[^\s\"\\]+$", events_url):
        raise ValueError(f"events_url must be an http(s) URL, not {events_url!r}")
    try:
        ipaddress.ip_address(http_bind)
    except ValueError:
        raise ValueError(f"http_bind must be an IP address, not {http_bind!r}") from None
    for name, port in (("http_port", http_port), ("admin_port", admin_port)):
        if not 0 < int(port) < 65536:
            raise ValueError(f"{name} {port} is not a TCP port")
    if int(http_port) == int(admin_port):
        raise ValueError("http_port and admin_port must differ")
    match = _PORT_RANGE.match(rtp_port_range)
    if not match or not 1024 <= int(match[1]) < int(match[2]) <= 65535:
        raise ValueError(f"rtp_port_range must look like 20000-40000, not {rtp_port_range!r}")
    for address in filter(None, (a.strip() for a in nat_1_1.split(","))):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"nat_1_1 must be IP addresses, not {nat_1_1!r}") from None
    if not 0 <= int(debug_level) <= 7:
        raise ValueError("debug_level is 0 to 7")
    if int(stats_period) < 1:
        raise ValueError("stats_period is at least 1 (second)")

    directory = Path(directory).resolve()
    nat_lines = ""
    if nat_1_1.strip():
        nat_lines += f'\tnat_1_1_mapping = "{_quote(nat_1_1.replace(" ", ""))}"\n'
    if ice_enforce_list.strip():
        nat_lines += f'\tice_enforce_list = "{_quote(ice_enforce_list)}"\n'
    values = {
        "configs_folder": _quote(str(directory)),
        "debug_level": str(int(debug_level)),
        "api_secret": _quote(api_secret),
        "admin_secret": _quote(admin_secret),
        "rtp_port_range": rtp_port_range,
        "ice_ignore_list": _quote(ice_ignore_list),
        "nat_lines": nat_lines,
        "disable_plugins": _libraries(DISABLED_PLUGINS, "libjanus_{}.so"),
        "disable_transports": _libraries(DISABLED_TRANSPORTS, "libjanus_{}.so"),
        "disable_loggers": _libraries(DISABLED_LOGGERS, "libjanus_{}.so"),
        "disable_events": _libraries(DISABLED_EVENT_HANDLERS, "libjanus_{}.so"),
        "stats_period": str(int(stats_period)),
        "http_bind": http_bind,
        "http_port": str(int(http_port)),
        "admin_port": str(int(admin_port)),
        "events_url": _quote(events_url),
        "events_secret": _quote(events_secret),
    }
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for template in sorted(TEMPLATES.glob("*.jcfg")):
        target = directory / template.name
        text = Template(template.read_text(encoding="utf-8")).substitute(values)
        target.touch(mode=0o600, exist_ok=True)
        target.chmod(0o600)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def _libraries(names: tuple[str, ...], pattern: str) -> str:
    return ",".join(pattern.format(name) for name in names)


def _quote(value: str) -> str:
    """A value inside a double-quoted jcfg (libconfig) string."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("configuration values cannot hold control characters")
    return value.replace("\\", "\\\\").replace('"', '\\"')
