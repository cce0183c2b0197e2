"""The `antenne` command as a newcomer uses it: run, admin create, token create, demo."""

from __future__ import annotations

import http.cookiejar
import json
import re
import signal
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from antenne.accounts.models import AccessRequest, Team, User
from antenne.cli import main
from antenne.core.permissions import Role
from antenne.events.models import Session, Speaker
from tests.helpers import (
    ANTENNE,
    antenne_env,
    antenne_run,
    free_port,
    links_in,
)


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture
def running(tmp_path):
    with antenne_run(tmp_path) as started:
        yield started


def test_run_serves_prints_a_setup_link_works_in_background_and_stops_on_ctrl_c(running, tmp_path):
    process, base, banner = running
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
        env=antenne_env(tmp_path, ANTENNE_BASE_URL=base),
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
        env=antenne_env(tmp_path, ANTENNE_DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to start" in result.stderr


def test_bad_settings_are_reported_clearly(tmp_path):
    result = subprocess.run(
        [*ANTENNE, "run", "--port", str(free_port())],
        env=antenne_env(tmp_path, ANTENNE_EMAIL="carrier-pigeon"),
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
    assert Session.objects.filter(state="scheduled").count() == 3
    assert Speaker.objects.filter(user__isnull=False).exists()  # a member speaks too
    [link] = links_in(out)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client.post(f"/{path}")
    assert client.get("/app/access-requests/").status_code == 200
    dashboard = client.get("/app/").content.decode()
    assert "Ouvrir les données des collectivités" in dashboard  # tomorrow, with items to fix
    assert main(["demo"]) == 0
    assert "nothing changed" in capsys.readouterr().out


def test_worker_alone_delivers_queued_email_and_stops_on_sigterm(tmp_path):
    env = antenne_env(tmp_path)
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


def test_janus_config_writes_a_hardened_configuration_or_says_what_is_missing(tmp_path):
    target = tmp_path / "janus"
    refused = subprocess.run(
        [*ANTENNE, "janus-config", str(target)],
        env=antenne_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "api_secret is required" in refused.stderr
    assert not target.exists()
    secrets = {
        "ANTENNE_JANUS_API_SECRET": "api-Secret-1",
        "ANTENNE_JANUS_ADMIN_SECRET": "admin-Secret-2",
        "ANTENNE_JANUS_EVENTS_SECRET": "events-Secret-3",
        "ANTENNE_BASE_URL": "https://webinaires.example.gouv.fr",
    }
    done = subprocess.run(
        [*ANTENNE, "janus-config", str(target), "--bind", "10.0.0.5"],
        env=antenne_env(tmp_path / "data", **secrets),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    written = sorted(p.name for p in target.iterdir())
    assert written == sorted(line.rsplit("/", 1)[-1] for line in done.stdout.split())
    assert "janus.jcfg" in written
    janus = (target / "janus.jcfg").read_text()
    assert 'api_secret = "api-Secret-1"' in janus
    events = (target / "janus.eventhandler.sampleevh.jcfg").read_text()
    assert "https://webinaires.example.gouv.fr/media/janus/events" in events
    assert "10.0.0.5" in (target / "janus.transport.http.jcfg").read_text()
    assert all(p.stat().st_mode & 0o077 == 0 for p in target.iterdir())  # secrets: owner only
