"""Reading settings from the environment: each reader checks that a value is usable and
raises `ConfigError` saying which variable is wrong and why."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

from antenne.config.declarations import BY_NAME
from antenne.config.setting import Setting

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting has a value Antenne cannot use; the message says which and why."""


def _declared(name: str) -> Setting:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"{name} is not a registered Antenne setting (add it to config.SETTINGS)"
        ) from None


def get(name: str, *, computed: str | None = None) -> str:
    """The value of a registered setting, stripped; its declared default when it is unset
    (or blank, for a setting declared `blank_is_default`).

    `computed` stands in for the default of a setting whose declared default is empty
    because `settings.py` computes it from other settings (documented as such)."""
    setting = _declared(name)
    if computed is None:
        default = setting.default
    elif setting.default:
        raise ValueError(f"{name} declares its default {setting.default!r}: it is not computed")
    else:
        default = computed
    if name not in os.environ:
        return default
    value = os.environ[name].strip()
    return default if not value and setting.blank_is_default else value


def get_bool(name: str, *, computed: bool | None = None) -> bool:
    written = None if computed is None else ("true" if computed else "false")
    raw = get(name, computed=written).lower()
    if raw in TRUE_VALUES:
        return True
    if raw in FALSE_VALUES:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def get_int(name: str, *, minimum: int = 0) -> int:
    raw = get(name)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _items(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def get_list(name: str) -> list[str]:
    """Comma-separated items; the declared default's when none is given and the setting is
    declared `blank_is_default`."""
    items = _items(get(name))
    setting = _declared(name)
    if not items and setting.blank_is_default:
        return _items(setting.default)
    return items


def get_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or CIDR networks (`192.0.2.10`, `198.51.100.0/24`)."""
    networks = []
    for item in (part.strip() for part in get(name).split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an address or a network like 192.0.2.0/24"
            ) from None
    return networks


def get_rate(name: str) -> tuple[int, int]:
    raw = get(name)
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
