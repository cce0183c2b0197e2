"""The data directory is the Antenne user's alone (issue 16, point 13): the directory is
0700, the SQLite database (which holds login sessions and registrants' addresses), its
journal, the secret key and export files are 0600, whatever the shell's umask; an existing
installation that others could read is made private by its next start."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from antenne.analytics import services as analytics
from antenne.events.models import Session
from tests.factories import SessionFactory
from tests.helpers import ANTENNE, antenne_env, drain_tasks


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def antenne(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ANTENNE, *args],
        env=antenne_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        umask=0o022,  # a usual shell: files readable by every local user unless told
    )


def test_a_new_data_directory_and_its_database_are_private(tmp_path):
    data = tmp_path / "antenne-data"
    antenne(data, "admin", "create", "--email", "boss@service.example")
    assert mode(data) == 0o700
    database = data / "antenne.sqlite3"
    assert database.stat().st_size > 0  # migrated: the real database, not a placeholder
    assert mode(database) == 0o600
    assert mode(data / "secret_key") == 0o600
    written = [p for p in data.rglob("*") if p.is_file()]
    assert written
    assert {str(p.relative_to(data)): mode(p) for p in written if mode(p) & 0o077} == {}


def test_an_existing_readable_installation_is_made_private_by_its_next_start(tmp_path):
    data = tmp_path / "old"
    antenne(data, "admin", "create", "--email", "boss@service.example")
    data.chmod(0o755)
    (data / "antenne.sqlite3").chmod(0o644)
    antenne(data, "token", "create", "--email", "boss@service.example")
    assert mode(data) == 0o700
    assert mode(data / "antenne.sqlite3") == 0o600


@pytest.mark.django_db(transaction=True)
def test_export_files_are_private(animator, settings, tmp_path):
    previous = os.umask(0o022)
    try:
        settings.EXPORTS_DIR = tmp_path / "exports"
        session = SessionFactory(animators=[animator], state=Session.State.ENDED)
        export = analytics.request_export(actor=animator, session=session, format="xlsx")
        drain_tasks()
        export.refresh_from_db()
        assert export.state == "done", export.error
    finally:
        os.umask(previous)
    path = Path(settings.EXPORTS_DIR) / export.file_name
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(Path(settings.EXPORTS_DIR)) == 0o700
