"""Project hygiene that users notice: documented settings, migrations, translations, lint."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from antenne import config
from antenne.cli import main
from tests import peers

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "antenne"


def test_settings_reference_is_current(capsys):
    documented = (ROOT / "docs" / "settings.md").read_text()
    assert main(["settings", "--markdown"]) == 0
    assert documented == capsys.readouterr().out, (
        "run: antenne settings --markdown > docs/settings.md"
    )


def test_every_environment_variable_read_is_registered():
    registered = {s.name for s in config.SETTINGS}
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        for name in set(re.findall(r"\"(ANTENNE_[A-Z_]+)\"", text)):
            if name in ("ANTENNE_REQUIRE_ALL",):
                continue
            assert name in registered, f"{path.name} reads {name}, which docs/settings.md lacks"


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_french_catalogue_is_complete_and_compiled(tmp_path):
    msgfmt = peers.gettext("msgfmt")
    po = SRC / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    untranslated = subprocess.run(
        [peers.gettext("msgattrib"), "--untranslated", "--no-obsolete", str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert untranslated.strip() == "", "untranslated French strings:\n" + untranslated
    fresh = tmp_path / "django.mo"
    subprocess.run([msgfmt, "--check-format", "-o", str(fresh), str(po)], check=True)
    with fresh.open("rb") as a, (po.with_suffix(".mo")).open("rb") as b:
        assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog, (
            "the committed django.mo is stale: run antenne manage compilemessages"
        )


def test_ruff_passes():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "src", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "src", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_user_facing_string_is_in_the_french_catalogue(tmp_path):
    """makemessages run on a copy of the sources finds no msgid the committed catalogue
    lacks: a new string cannot ship untranslated."""
    msgfmt = peers.gettext("msgfmt")
    peers.gettext("xgettext")
    copy = tmp_path / "antenne"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["ANTENNE_DATA_DIR"] = str(tmp_path / "data")
    subprocess.run(
        [sys.executable, "-m", "antenne", "manage", "makemessages", "-l", "fr", "--no-wrap"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )

    def catalogue(po: Path) -> set:
        mo = tmp_path / f"{po.parent.parent.parent.parent.name}.mo"
        subprocess.run([msgfmt, "--use-fuzzy", "-o", str(mo), str(po)], check=True)
        with mo.open("rb") as handle:
            return {key for key in gettext.GNUTranslations(handle)._catalog if key}

    extracted = copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    # msgfmt drops entries whose msgstr is empty: list msgids from the extraction directly.
    found = set(re.findall(r'^msgid "(.+)"$', extracted.read_text(), re.MULTILINE))
    committed = catalogue(SRC / "locale" / "fr" / "LC_MESSAGES" / "django.po")
    known = {k if isinstance(k, str) else k[0] for k in committed}
    known = {k.split("\x04", 1)[-1] for k in known}
    unescape = {"\\n": "\n", "\\t": "\t", '\\"': '"', "\\\\": "\\"}
    missing = sorted(
        m for m in found if re.sub(r'\\[nt"\\]', lambda e: unescape[e[0]], m) not in known
    )
    assert not missing, f"not in the French catalogue (run makemessages and translate): {missing}"
