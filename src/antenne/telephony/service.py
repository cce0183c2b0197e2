"""The telephone gateway as a service of the process: started by `antenne run` (inside its
event loop, beside the web server) and by `antenne sip` (alone, for production)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from .gateway import SipGateway
from .ivr import Ivr
from .register import Registrar
from .sip import SipError, parse_bind

logger = logging.getLogger("antenne.telephony")


class TelephonyUnavailable(Exception):
    """The gateway could not start (its address is taken, or the settings are wrong)."""


@dataclass
class Telephony:
    gateway: SipGateway
    ivr: Ivr
    registrar: object | None = None

    @property
    def address(self) -> str:
        return f"{self.gateway.host}:{self.gateway.port}"

    async def close(self) -> None:
        if self.registrar is not None:
            await self.registrar.stop()  # type: ignore[attr-defined]
        await self.gateway.close()
        await self.ivr.close()


def enabled() -> bool:
    return settings.SIP_BIND.strip().lower() not in ("", "off", "no", "false", "0")


async def start(bind: str | None = None) -> Telephony:
    """Listen for calls on `bind` (default `ANTENNE_SIP_BIND`); raises
    `TelephonyUnavailable` with a message for the operator."""
    bind = bind or settings.SIP_BIND
    try:
        host, port = parse_bind(bind)
    except SipError as exc:
        raise TelephonyUnavailable(f"ANTENNE_SIP_BIND={bind!r}: {exc}") from None
    ivr = Ivr()
    gateway = SipGateway(
        ivr,
        host=host,
        port=port,
        max_calls=settings.SIP_MAX_CALLS,
        public_host=settings.SIP_PUBLIC_HOST or None,
        allowed_sources=settings.SIP_ALLOWED_SOURCES,
    )
    try:
        await gateway.start()
    except OSError as exc:
        await ivr.close()
        raise TelephonyUnavailable(
            f"could not listen for SIP on {bind}: {exc.strerror or exc}"
        ) from None
    service = Telephony(gateway, ivr)
    if settings.SIP_REGISTRAR:
        registrar = Registrar(
            gateway,
            registrar=settings.SIP_REGISTRAR,
            username=settings.SIP_USERNAME,
            password=settings.SIP_PASSWORD,
        )
        await registrar.start()
        service.registrar = registrar
    return service
