"""tests/peers.py, the one place deciding whether a system binary or capability is there:
a missing one skips with the Debian package to install, or fails under ANTENNE_REQUIRE_ALL=1;
the README's and CI's install commands name every package it knows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import peers
from tests.netns import Netns

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def path_with(tmp_path, monkeypatch):
    """A PATH holding only the executables named (empty scripts)."""

    def make(*names: str) -> Path:
        directory = tmp_path / "bin"
        directory.mkdir()
        for name in names:
            (directory / name).write_text("#!/bin/sh\n")
            (directory / name).chmod(0o755)
        monkeypatch.setenv("PATH", str(directory))
        return directory

    return make


@pytest.fixture
def newcomer(monkeypatch):
    monkeypatch.delenv(peers.REQUIRE_ALL, raising=False)


@pytest.fixture
def ci(monkeypatch):
    monkeypatch.setenv(peers.REQUIRE_ALL, "1")


def test_a_binary_on_path_is_returned_as_an_absolute_path(path_with, newcomer):
    directory = path_with("janus", "sipp")
    assert peers.janus() == str(directory / "janus")
    assert peers.sipp() == str(directory / "sipp")


def test_a_missing_binary_skips_naming_its_debian_package(path_with, newcomer):
    path_with("janus")
    with pytest.raises(pytest.skip.Exception) as skipped:
        peers.sipp()
    assert str(skipped.value) == (
        "`sipp` is not installed (Debian package sip-tester: apt-get install sip-tester)"
    )
    with pytest.raises(pytest.skip.Exception, match="Debian package gettext"):
        peers.gettext("msgfmt")


def test_a_missing_binary_fails_under_require_all(path_with, ci):
    path_with()
    with pytest.raises(pytest.fail.Exception) as failed:
        peers.chromium()
    assert str(failed.value) == (
        "ANTENNE_REQUIRE_ALL=1 but `chromium` is not installed "
        "(Debian package chromium: apt-get install chromium)"
    )


def test_an_unlisted_binary_is_a_mistake_not_a_skip(path_with, newcomer):
    path_with("cowsay")
    with pytest.raises(KeyError):
        peers.binary("cowsay")


def test_capabilities_skip_or_fail_with_the_reason(monkeypatch, newcomer):
    monkeypatch.setattr(peers.os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception, match="network namespace needs root"):
        peers.root("creating a network namespace")
    monkeypatch.setenv(peers.REQUIRE_ALL, "1")
    with pytest.raises(pytest.fail.Exception, match="=1 but creating a network namespace"):
        peers.root("creating a network namespace")


def test_commands_run_in_a_namespace_resolve_bare_names_through_peers(path_with, newcomer):
    directory = path_with("janus")
    ns = Netns("antenne-x", ip="/sbin/ip")
    assert ns.command(["janus", "-F", "conf"]) == [
        "/sbin/ip", "netns", "exec", "antenne-x", str(directory / "janus"), "-F", "conf"
    ]  # fmt: skip
    assert ns.command(["/opt/x", "-v"])[-2:] == ["/opt/x", "-v"]
    with pytest.raises(pytest.skip.Exception, match="`baresip` is not installed"):
        ns.command(["baresip", "-f", "conf"])


def test_the_install_commands_name_every_package():
    readme = (ROOT / "README.md").read_text()
    [readme_install] = re.findall(r"apt-get install ([a-z0-9 \n-]+)", readme)
    ci = (ROOT / ".ci" / "run").read_text()
    [ci_install] = re.findall(r"apt-get install -y -qq --no-install-recommends \\\n(.+?)\\", ci)
    for install in (readme_install, ci_install):
        assert set(peers.PACKAGES.values()) <= set(install.split())


def test_no_test_decides_on_its_own_whether_a_peer_is_there():
    for path in (ROOT / "tests").rglob("*.py"):
        if path.name in ("peers.py", "test_peers.py"):
            continue
        text = path.read_text()
        assert "shutil.which(" not in text, f"{path}: use tests/peers.py"
        assert 'environ.get("ANTENNE_REQUIRE_ALL")' not in text, f"{path}: use tests/peers.py"
