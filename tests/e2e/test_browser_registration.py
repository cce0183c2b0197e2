"""A visitor registers on a published webinar's public page in headless Chromium against a
real `antenne run` (demo data), is told to check their email (the page shows no join link,
whatever the address), finds the link in the mailbox and opens the waiting page — with no
script or CSP error on the way."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing

import pytest

from tests import peers
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.helpers import ANTENNE, antenne_env, antenne_run, links_in, wait_for_mailbox

pytestmark = pytest.mark.e2e


def test_visitor_registers_and_reaches_the_waiting_page(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        env = antenne_env(tmp_path, ANTENNE_BASE_URL=base)
        subprocess.run([*ANTENNE, "demo"], env=env, check=True, capture_output=True, timeout=120)
        with closing(sqlite3.connect(tmp_path / "antenne.sqlite3")) as db:
            [(event_id, title)] = db.execute(
                "SELECT id, title FROM events_event WHERE published ORDER BY id LIMIT 1"
            ).fetchall()
        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_context(timezone_id="America/Montreal").new_page()
            watch(page, problems)
            page.goto(f"{base}/e/{event_id}/?utm_source=lettre")
            assert page.locator("h1").inner_text() == title
            assert page.locator(".antenne-local-times").is_visible()  # Montreal ≠ Paris
            page.get_by_role("textbox", name="Adresse électronique").fill("Visiteur@Public.example")
            page.get_by_role("textbox", name="Prénom").fill("Vic")
            page.get_by_role("textbox", name="Nom", exact=True).fill("Iteur")
            page.locator("input[name=consent]").check(force=True)
            page.get_by_role("button", name="S’inscrire").click()
            page.wait_for_url(f"{base}/e/{event_id}/registered/")
            assert page.locator("a[href*='/join/']").count() == 0
            assert "visiteur@public.example" in page.locator("main").inner_text()
            assert wait_for_mailbox(tmp_path, "visiteur@public.example") == 1
            with closing(sqlite3.connect(tmp_path / "antenne.sqlite3")) as db:
                [(body,)] = db.execute(
                    'SELECT body_text FROM mailing_mailboxmessage WHERE "to" = ?',
                    ("visiteur@public.example",),
                ).fetchall()
            [join_link] = [u for u in links_in(body) if "/join/" in u]

            page.goto(join_link)
            countdown = page.locator(".antenne-countdown")
            assert countdown.inner_text().startswith("La salle ouvre")
            browser.close()
        assert wait_for_mailbox(tmp_path, "visiteur@public.example") == 1
        with closing(sqlite3.connect(tmp_path / "antenne.sqlite3")) as db:
            [(utm,)] = db.execute("SELECT utm FROM registrations_registration").fetchall()
        assert "lettre" in utm
        assert not problems, problems
