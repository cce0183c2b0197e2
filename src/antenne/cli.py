"""The `antenne` command: run, worker, admin create, token create, demo, settings, manage."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from antenne.config.private_files import UMASK

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _setup_django(data_dir: str | None) -> None:
    if data_dir:
        os.environ["ANTENNE_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "antenne.settings")
    import django

    from antenne.config import ConfigError

    try:
        django.setup()
    except ConfigError as error:
        raise SystemExit(f"antenne: configuration error: {error}") from None


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def cmd_run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        print(f"antenne: --port {args.port} is not a valid port", file=sys.stderr)
        return 2
    if "ANTENNE_BASE_URL" not in os.environ:
        shown = args.host if not args.host.startswith(("0.0.0.0", "::")) else "127.0.0.1"  # noqa: S104
        if ":" in shown:
            shown = f"[{shown}]"
        os.environ["ANTENNE_BASE_URL"] = f"http://{shown}:{args.port}"
    _setup_django(args.data_dir)
    from django.conf import settings

    if settings.DEBUG and not is_loopback(args.host):
        print(
            f"antenne: refusing to start with ANTENNE_DEBUG on the non-loopback host {args.host}: "
            "debug pages reveal settings and code. Unset ANTENNE_DEBUG or use --host 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    _migrate()
    from antenne.runner import serve

    return serve(host=args.host, port=args.port)


def _keep_worker_connection() -> None:
    """A worker runs one task at a time on one thread: keep its database connection open
    across tasks (checked before reuse) instead of one connection per task — 1.5x the email
    sending rate (bench/followup.py). Not with a pool, which already keeps connections."""
    from django.conf import settings
    from django.db import connections

    database = settings.DATABASES["default"]
    if "pool" in (database.get("OPTIONS") or {}):
        return
    database["CONN_MAX_AGE"] = None
    database["CONN_HEALTH_CHECKS"] = True
    connections["default"].settings_dict.update(CONN_MAX_AGE=None, CONN_HEALTH_CHECKS=True)


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django(args.data_dir)
    from django.conf import settings
    from django.core.management import call_command

    from antenne.runner import Sweeper

    _keep_worker_connection()
    _migrate()
    sweeper = Sweeper()
    sweeper.start()  # one sweep now, then every minute beside the worker loop
    try:
        call_command("db_worker", interval=settings.WORKER_INTERVAL, verbosity=1)
    finally:
        sweeper.stop()
    return 0


def cmd_admin_create(args: argparse.Namespace) -> int:
    _setup_django(args.data_dir)
    _migrate()
    from antenne.accounts import services
    from antenne.core.exceptions import AntenneError

    try:
        user = services.create_admin(email=args.email, full_name=args.name or "")
    except AntenneError as error:
        print(f"antenne: {error.message}", file=sys.stderr)
        return 2
    print(f"{user.email} is a workspace admin.")
    print(f"One-time login link (valid {_minutes()} minutes):")
    print(f"  {services.issue_login_url(user=user)}")
    return 0


def _minutes() -> int:
    from django.conf import settings

    return int(settings.LOGIN_LINK_MINUTES)


def cmd_token_create(args: argparse.Namespace) -> int:
    _setup_django(args.data_dir)
    _migrate()
    from antenne.accounts import selectors, services
    from antenne.core.exceptions import AntenneError

    try:
        user = selectors.get_user_by_email(email=args.email)
        _token, raw = services.create_api_token(actor=None, user=user, name=args.name or "cli")
    except AntenneError as error:
        print(f"antenne: {error.message}", file=sys.stderr)
        return 2
    print(raw)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _setup_django(args.data_dir)
    _migrate()
    from antenne.demo import fill_demo

    for line in fill_demo():
        print(line)
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    from antenne import config

    if args.markdown:
        sys.stdout.write(config.markdown())
    else:
        for setting in config.SETTINGS:
            value = os.environ.get(setting.name)
            secret = "PASSWORD" in setting.name or "SECRET" in setting.name
            shown = "(set)" if value and secret else (value or "")
            print(f"{setting.name}={shown}  # default: {setting.documented_default}")
    return 0


def cmd_janus_config(args: argparse.Namespace) -> int:
    """Write a hardened Janus configuration for this Antenne (docs/janus.md)."""
    _setup_django(args.data_dir)
    from django.conf import settings

    from antenne.media.janus.config import render_config

    try:
        written = render_config(
            args.directory,
            api_secret=settings.JANUS_API_SECRET,
            admin_secret=settings.JANUS_ADMIN_SECRET,
            events_url=args.events_url or f"{settings.BASE_URL}/media/janus/events",
            events_secret=settings.JANUS_EVENTS_SECRET,
            http_bind=args.bind,
            http_port=args.port,
            admin_port=args.admin_port,
            rtp_port_range=args.rtp_ports,
            nat_1_1=args.public_ip,
        )
    except ValueError as exc:
        print(f"antenne janus-config: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _setup_django(args.data_dir)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["antenne manage", *args.rest])
    return 0


def cmd_sip(args: argparse.Namespace) -> int:
    """The SIP gateway alone (production, beside `antenne run` processes and Janus)."""
    _setup_django(args.data_dir)
    from django.conf import settings

    if settings.MEDIA_ENGINE != "janus":
        print(
            "antenne sip: with the embedded media engine the gateway must share its process: "
            "`antenne run` starts it (ANTENNE_SIP_BIND). Run `antenne sip` alone with "
            "ANTENNE_MEDIA_ENGINE=janus.",
            file=sys.stderr,
        )
        return 2
    _migrate()
    import asyncio
    import signal

    from antenne.telephony import service

    async def main() -> int:
        try:
            telephony = await service.start(args.bind or None)
        except service.TelephonyUnavailable as exc:
            print(f"antenne sip: {exc}", file=sys.stderr)
            return 1
        print(f"Antenne SIP gateway listening on {telephony.address} (UDP and TCP)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await telephony.close()
        print("Antenne SIP gateway stopped.", flush=True)
        return 0

    return asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", help="data directory (default: ANTENNE_DATA_DIR or ~/.local/share/antenne)"
    )
    parser = argparse.ArgumentParser(prog="antenne", description="Antenne webinar platform")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="run Antenne (web, WebSocket, worker)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.set_defaults(func=cmd_run)

    worker = sub.add_parser("worker", parents=[common], help="run a background-task worker")
    worker.set_defaults(func=cmd_worker)

    sip = sub.add_parser("sip", parents=[common], help="run the telephone (SIP) gateway alone")
    sip.add_argument("--bind", default="", help="address:port (default: ANTENNE_SIP_BIND)")
    sip.set_defaults(func=cmd_sip)

    admin = sub.add_parser("admin", help="manage workspace admins")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    admin_create = admin_sub.add_parser("create", parents=[common], help="make an admin")
    admin_create.add_argument("--email", required=True)
    admin_create.add_argument("--name", default="")
    admin_create.set_defaults(func=cmd_admin_create)

    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    token_create = token_sub.add_parser("create", parents=[common], help="print a new API token")
    token_create.add_argument("--email", required=True)
    token_create.add_argument("--name", default="")
    token_create.set_defaults(func=cmd_token_create)

    demo = sub.add_parser("demo", parents=[common], help="fill the data dir with a demo workspace")
    demo.set_defaults(func=cmd_demo)

    settings_cmd = sub.add_parser("settings", help="list settings")
    settings_cmd.add_argument("--markdown", action="store_true", help="print docs/settings.md")
    settings_cmd.set_defaults(func=cmd_settings)

    janus = sub.add_parser(
        "janus-config",
        parents=[common],
        help="write a hardened Janus configuration (secrets from ANTENNE_JANUS_*)",
    )
    janus.add_argument("directory", help="where to write the .jcfg files (e.g. /etc/janus)")
    janus.add_argument("--bind", default="127.0.0.1", help="address of Janus's HTTP APIs")
    janus.add_argument("--port", type=int, default=8088, help="Janus API port")
    janus.add_argument("--admin-port", type=int, default=7088, help="Janus admin API port")
    janus.add_argument("--rtp-ports", default="20000-40000", help="UDP range for media")
    janus.add_argument("--public-ip", default="", help="public address behind a 1:1 NAT")
    janus.add_argument(
        "--events-url", default="", help="where Janus posts events (default: BASE_URL/media/…)"
    )
    janus.set_defaults(func=cmd_janus_config)

    manage = sub.add_parser("manage", parents=[common], help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Files this process writes (the SQLite database and its journal, exports, covers,
    # collected static files) are its user's alone, whatever the shell's umask.
    os.umask(UMASK)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
