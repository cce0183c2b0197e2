"""Telephone callers in the animator's console, in headless Chromium against a real
`antenne run`: a caller who typed the session's PIN (no name: the console shows their masked
number, "by telephone") has raised their hand (*1); the animator gives them the floor from
the people list — the hand goes down, the row says they have the floor, the call row has
`floor` set — and takes it back. The caller's rows are written in the database as the
gateway leaves them (no gateway runs here). No script error and no CSP violation."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import peers
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.e2e.test_console import CSP_PROBE, SCREENSHOTS, card, connected
from tests.e2e.test_room import demo_animator, webinar_session
from tests.helpers import antenne_run

pytestmark = pytest.mark.e2e

NUMBER = "+33 6 •• •• •• 42"


def phone_caller(data_dir: Path, session_id: int, *, number: str, hand: bool) -> int:
    """An attendance row (device phone, no registration) and its call, as the gateway
    writes them once a caller's PIN is accepted. Returns the attendance row's id."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with closing(sqlite3.connect(data_dir / "antenne.sqlite3")) as db, db:
        presence_id = db.execute(
            "INSERT INTO rooms_presence (session_id, role, device, joined_at, seen_at,"
            " hand_raised_at) VALUES (?, 'attendee', 'phone', ?, ?, ?)",
            (session_id, now, now, now if hand else None),
        ).lastrowid
        db.execute(
            "INSERT INTO telephony_phonecall (session_id, presence_id, caller_masked,"
            " caller_hash, call_id, codec, outcome, wrong_pins, floor, started_at, joined_at,"
            " packets_received, packets_lost, packets_sent)"
            " VALUES (?, ?, ?, '', ?, 'PCMA', 'active', 0, 0, ?, ?, 0, 0, 0)",
            (session_id, presence_id, number, f"call-{presence_id}@gateway", now, now),
        )
    assert presence_id is not None
    return presence_id


def floor_of(data_dir: Path, presence_id: int) -> tuple[int, str | None]:
    """(the call's `floor`, the attendance row's `hand_raised_at`)."""
    with closing(sqlite3.connect(data_dir / "antenne.sqlite3")) as db:
        [row] = db.execute(
            "SELECT c.floor, p.hand_raised_at FROM telephony_phonecall c"
            " JOIN rooms_presence p ON p.id = c.presence_id WHERE p.id = ?",
            (presence_id,),
        ).fetchall()
    return row


def test_the_animator_gives_a_telephone_caller_the_floor(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import expect, sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        login_link, token, team_id = demo_animator(base, tmp_path)
        session_id = webinar_session(base, token, team_id, "Phone test", minutes_ahead=10)
        caller = phone_caller(tmp_path, session_id, number=NUMBER, hand=True)

        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_init_script(CSP_PROBE)
            page = context.new_page()
            watch(page, problems)
            page.goto(login_link)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(f"{base}/app/")
            page.goto(f"{base}/app/sessions/{session_id}/room/")
            connected(page)
            page.locator("#studio-tab-people").click()  # the people list and raised hands
            # The page's own texts for callers, in its language.
            text = page.locator("#console-people").evaluate("(e) => ({...e.dataset})")

            # The caller: by their masked number, by telephone, hand raised.
            row = card(page, "console-people-list", NUMBER)
            expect(row).to_have_count(1)
            expect(row).to_contain_text(text["phoneBy"])
            expect(row.locator(".fr-icon-phone-line[aria-hidden=true]")).to_have_count(1)
            expect(row).not_to_contain_text(text["phoneFloor"])
            queued = card(page, "console-hands-list", NUMBER)
            expect(queued).to_have_count(1)
            expect(page.locator("#console-hands-count")).to_have_text("1")

            # Give the floor (from the keyboard): the hand goes down, the row says so.
            give = text["phoneGiveLabel"].replace("%(name)s", NUMBER)
            row.get_by_role("button", name=give).focus()
            page.keyboard.press("Enter")
            expect(row).to_contain_text(text["phoneFloor"])
            given = text["phoneGiven"].replace("%(name)s", NUMBER)
            expect(page.locator("#console-people-messages")).to_contain_text(given)
            expect(page.locator("#console-hands-list > li")).to_have_count(0)
            # Drawn again: the focus is on the same control, now "take the floor".
            take = text["phoneTakeLabel"].replace("%(name)s", NUMBER)
            expect(row.get_by_role("button", name=take)).to_be_focused()
            assert floor_of(tmp_path, caller) == (1, None)
            page.locator("#console-people").screenshot(
                path=str(SCREENSHOTS / "console-phone-1280.png")
            )

            # And take it back.
            row.get_by_role("button", name=take).click()
            expect(row.get_by_role("button", name=give)).to_be_visible()
            expect(row).not_to_contain_text(text["phoneFloor"])
            assert floor_of(tmp_path, caller) == (0, None)

            assert page.evaluate("window.__csp") == []
            browser.close()
        assert not problems, problems
