"""The `antenne` command as a newcomer uses it: run, admin create, token create, demo."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from antenne.accounts.models import AccessRequest, Team, User
from antenne.cli import main
from antenne.core.permissions import Role
from tests.helpers import free_port, links_in

ANTENNE = [sys.executable, "-m", "antenne"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTENNE_")}
    env.pop("DATABASE_URL", None)  # a newcomer's run: embedded SQLite in the data dir
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(ANTENNE_DATA_DIR=str(data_dir), **extra)
    return env


def _wait_for_line(process: subprocess.Popen, needle: str, timeout: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not printed; output so far:\n{''.join(lines)}")


def _get(url: str, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture
def running(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [*ANTENNE, "run", "--port", str(port), "--data-dir", str(tmp_path)],
        env=_env(tmp_path, ANTENNE_WORKER_INTERVAL="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _wait_for_line(process, "Press Ctrl-C")
        yield process, port, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stdout.close()


def test_run_serves_prints_a_setup_link_works_in_background_and_stops_on_ctrl_c(running, tmp_path):
    process, port, banner = running
    base = f"http://127.0.0.1:{port}"
    assert f"Antenne is running at {base}/" in banner
    [setup_link] = [u for u in links_in(banner) if "/setup/" in u]

    assert _get(f"{base}/healthz") == (200, json.dumps({"status": "ok"}))
    status, page = _get(setup_link)
    assert status == 200
    assert 'name="email"' in page
    assert (tmp_path / "antenne.sqlite3").exists()
    secret = tmp_path / "secret_key"
    assert secret.stat().st_mode & 0o777 == 0o600

    # `antenne admin create` in another process, then a login form sent to the running
    # instance: its in-process worker must deliver the link to the mailbox by itself.
    created = subprocess.run(
        [*ANTENNE, "admin", "create", "--email", "boss@service.example"],
        env=_env(tmp_path, ANTENNE_BASE_URL=base),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [login_link] = links_in(created.stdout)
    assert login_link.startswith(f"{base}/login/")
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/login/", timeout=10).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"email": "boss@service.example", "csrfmiddlewaretoken": csrf})
    opener.open(f"{base}/login/", data=body.encode(), timeout=10)
    deadline = time.monotonic() + 20
    delivered = 0
    while time.monotonic() < deadline and not delivered:
        time.sleep(0.3)
        with sqlite3.connect(tmp_path / "antenne.sqlite3") as db:
            delivered = db.execute(
                'SELECT count(*) FROM mailing_mailboxmessage WHERE "to" = ?',
                ("boss@service.example",),
            ).fetchone()[0]
    assert delivered == 1

    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
    rest = process.stdout.read()
    assert "Antenne stopped." in rest


def test_run_refuses_debug_on_a_public_host(tmp_path):
    result = subprocess.run(
        [*ANTENNE, "run", "--host", "0.0.0.0", "--port", str(free_port())],  # noqa: S104
        env=_env(tmp_path, ANTENNE_DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to start" in result.stderr


def test_bad_settings_are_reported_clearly(tmp_path):
    result = subprocess.run(
        [*ANTENNE, "run", "--port", str(free_port())],
        env=_env(tmp_path, ANTENNE_EMAIL="carrier-pigeon"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ANTENNE_EMAIL='carrier-pigeon'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
def test_admin_create_and_token_create(capsys, client):
    assert main(["admin", "create", "--email", "Chef@Service.example", "--name", "Chef"]) == 0
    out = capsys.readouterr().out
    assert "chef@service.example is a workspace admin." in out
    assert User.objects.get(email="chef@service.example").role == Role.ADMIN

    assert main(["token", "create", "--email", "chef@service.example"]) == 0
    token = capsys.readouterr().out.strip()
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.json()["role"] == "admin"

    assert main(["token", "create", "--email", "ghost@service.example"]) == 2
    assert "Aucun compte n’a cette adresse." in capsys.readouterr().err  # French by default
    assert main(["admin", "create", "--email", "not an email"]) == 2


@pytest.mark.django_db
def test_demo_fills_a_living_workspace_once(capsys, client):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert Team.objects.count() >= 3
    assert User.objects.filter(role=Role.ANIMATOR).count() >= 2
    assert AccessRequest.objects.filter(status="pending").count() >= 2
    [link] = links_in(out)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client.post(f"/{path}")
    assert client.get("/app/access-requests/").status_code == 200
    assert main(["demo"]) == 0
    assert "nothing changed" in capsys.readouterr().out


def test_worker_alone_delivers_queued_email_and_stops_on_sigterm(tmp_path):
    env = _env(tmp_path)
    subprocess.run(
        [*ANTENNE, "admin", "create", "--email", "solo@service.example"],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    queue = (
        "from antenne.accounts import services; "
        "services.request_login_link(email='solo@service.example')"
    )
    subprocess.run([*ANTENNE, "manage", "shell", "-c", queue], env=env, timeout=60, check=True)
    worker = subprocess.Popen(
        [*ANTENNE, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        delivered = 0
        while time.monotonic() < deadline and not delivered:
            time.sleep(0.3)
            with sqlite3.connect(tmp_path / "antenne.sqlite3") as db:
                delivered = db.execute(
                    'SELECT count(*) FROM mailing_mailboxmessage WHERE "to" = ?',
                    ("solo@service.example",),
                ).fetchone()[0]
        assert delivered == 1
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        worker.stdout.close()
