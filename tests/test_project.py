"""Project hygiene that users notice: documented settings, migrations, translations, lint."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from antenne import config
from tests.helpers import require_binary

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "antenne"


def test_settings_reference_is_current():
    documented = (ROOT / "docs" / "settings.md").read_text()
    assert documented == config.markdown(), "run: antenne settings --markdown > docs/settings.md"


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
    msgfmt = require_binary("msgfmt")
    po = SRC / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    untranslated = subprocess.run(
        [require_binary("msgattrib"), "--untranslated", "--no-obsolete", str(po)],
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
