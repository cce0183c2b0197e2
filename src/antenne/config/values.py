"""Reading settings from the environment: each reader checks that a value is usable and
raises `ConfigError` saying which variable is wrong and why."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

from antenne.config.declarations import BY_NAME

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting has a value Antenne cannot use; the message says which and why."""


def get(name: str, fallback: str = "") -> str:
    """The raw value of a registered setting, or `fallback` when it is unset."""
    if name not in BY_NAME:
        raise KeyError(f"{name} is not a registered Antenne setting (add it to config.SETTINGS)")
    return os.environ.get(name, fallback).strip()


def get_bool(name: str, fallback: bool) -> bool:
    raw = get(name, "").lower()
    if name not in os.environ:
        return fallback
    if raw in TRUE_VALUES:
        return True
    if raw in FALSE_VALUES:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def get_int(name: str, fallback: int, *, minimum: int = 0) -> int:
    raw = get(name, str(fallback))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def get_list(name: str) -> list[str]:
    return [item.strip() for item in get(name).split(",") if item.strip()]


def get_networks(name: str, fallback: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or CIDR networks (`192.0.2.10`, `198.51.100.0/24`)."""
    networks = []
    for item in (part.strip() for part in get(name, fallback).split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an address or a network like 192.0.2.0/24"
            ) from None
    return networks


def get_rate(name: str, fallback: str) -> tuple[int, int]:
    raw = get(name, fallback)
    try:
        count, seconds = (int(part) for part in raw.split("/"))
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected count/seconds, like 5/900") from None
    if count < 1 or seconds < 1:
        raise ConfigError(f"{name}={raw!r}: count and seconds must be positive")
    return count, seconds


def get_ice_servers(name: str) -> list[dict[str, object]]:
    """A JSON list of RTCIceServer dictionaries (`urls` a string or a list of strings,
    optional `username` and `credential`)."""
    raw = get(name)
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f'{name}: expected a JSON list, like [{{"urls": "stun:…"}}]') from None
    if not isinstance(value, list):
        raise ConfigError(f"{name}: expected a JSON list of servers")
    servers = []
    for item in value:
        urls = item.get("urls") if isinstance(item, dict) else None
        if isinstance(urls, str):
            urls = [urls]
        if not urls or not all(
            isinstance(u, str) and u.split(":", 1)[0] in ("stun", "stuns", "turn", "turns")
            for u in urls
        ):
            raise ConfigError(f"{name}: each server needs urls starting with stun: or turn:")
        extra = set(item) - {"urls", "username", "credential"}
        if extra:
            raise ConfigError(f"{name}: unknown keys {sorted(extra)}")
        servers.append({**item, "urls": urls})
    return servers


def data_dir() -> Path:
    return Path(get("ANTENNE_DATA_DIR") or _default_data_dir()).expanduser().resolve()


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "antenne")
