"""The attendees' live room in headless Chromium against a real `antenne run`.

Two attendees wait on the countdown (one on a desktop in French, one on a 390 px phone in
English); the animator starts the broadcast from the back office and both pages switch to
the room without reloading. A chat message carrying HTML and script shows as text on the
other page and never runs; a burst of messages is announced once; a message deleted by
staff disappears; the phone's connection is cut by the server side and comes back by
itself, with the message sent meanwhile; the animator ends the broadcast and both pages
thank their attendee. A third attendee, hours early, waits without being counted in. No
script error and no CSP violation anywhere."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import urllib.request
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import peers
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.helpers import ANTENNE, antenne_env, antenne_run, links_in

pytestmark = pytest.mark.e2e

ANIMATOR = "camille.martin@demo.antenne.example"
HOSTILE = "<img src=x onerror=alert(1)> <script>alert(2)</script> bonjour"
# Set to a directory to keep screenshots of the waiting and live states (desktop and phone).
SCREENSHOTS = os.environ.get("ANTENNE_ROOM_SCREENSHOTS", "")


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*ANTENNE, *args], env=env, check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout


def api(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def webinar_session(base: str, token: str, team_id: int, title: str, *, minutes_ahead: int) -> int:
    """A new webinar `title` of the team with one session `minutes_ahead` from now: its id."""
    event = api(base, token, "POST", "/events", {"title": title, "team_id": team_id})
    start = (datetime.now(UTC) + timedelta(minutes=minutes_ahead)).isoformat()
    body = {"starts_at": start, "confirm_conflicts": True}
    return api(base, token, "POST", f"/events/{event['id']}/sessions", body)["id"]


def demo_animator(base: str, data_dir: Path) -> tuple[str, str, int]:
    """The demo workspace with `ANIMATOR` made an admin: (their login link, an API token of
    theirs, the id of the team their webinars go to)."""
    env = antenne_env(data_dir, ANTENNE_BASE_URL=base)
    cli(env, "demo")
    [login_link] = links_in(cli(env, "admin", "create", "--email", ANIMATOR))
    token = cli(env, "token", "create", "--email", ANIMATOR).strip()
    with closing(sqlite3.connect(data_dir / "antenne.sqlite3")) as db:
        [(team_id,)] = db.execute(
            "SELECT id FROM accounts_team WHERE name = 'Mission Numérique Inclusive'"
        ).fetchall()
    return login_link, token, team_id


def presences(data_dir: Path) -> list[tuple[str, int, bool]]:
    """(attendee email, registration id, still connected) per attendance row."""
    with closing(sqlite3.connect(data_dir / "antenne.sqlite3")) as db:
        return db.execute(
            "SELECT r.email, r.id, p.left_at IS NULL FROM rooms_presence p "
            "JOIN registrations_registration r ON r.id = p.registration_id ORDER BY p.id"
        ).fetchall()


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"room-{name}.png"), full_page=True)


def room_strings(page) -> dict:
    return json.loads(page.locator("#antenne-room-strings").text_content())


def connected(page) -> None:
    page.locator("#room-connection[data-connection=connected]").wait_for()


def test_attendees_wait_switch_to_the_room_chat_safely_and_are_thanked(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import expect, sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        login_link, token, team_id = demo_animator(base, tmp_path)
        event = api(base, token, "POST", "/events", {"title": "Salle test", "team_id": team_id})
        now = datetime.now(UTC)

        def schedule(start: datetime) -> int:
            body = {"starts_at": start.isoformat(), "confirm_conflicts": True}
            return api(base, token, "POST", f"/events/{event['id']}/sessions", body)["id"]

        def register(session_id: int, email: str, first_name: str) -> str:
            body = {"email": email, "first_name": first_name, "last_name": "Test"}
            return api(base, token, "POST", f"/sessions/{session_id}/registrations", body)[
                "join_url"
            ]

        session_id = schedule(now + timedelta(minutes=10))  # the room is open
        later_id = schedule(now + timedelta(hours=3))  # the room is not open yet
        alix_link = register(session_id, "alix@public.example", "Alix")
        bob_link = register(session_id, "bob@public.example", "Bob")
        early_link = register(later_id, "early@public.example", "Eve")

        problems: list[str] = []
        dialogs: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

            def attendee(**options):
                page = browser.new_context(**options).new_page()
                watch(page, problems)
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                return page

            # Alix: desktop, French; she comes through her join page.
            alix = attendee(viewport={"width": 1280, "height": 900})
            alix.goto(alix_link)
            alix.locator(f"a[href='{alix_link.removeprefix(base)}room/']").click()
            alix.wait_for_url(f"{alix_link}room/")
            # Bob: a 390 px phone, English; his room's WebSocket goes through a proxy that
            # the test can cut from the server side (no hook in the page's code).
            bob = attendee(viewport={"width": 390, "height": 844}, has_touch=True)
            bob.context.add_cookies([{"name": "django_language", "value": "en", "url": base}])
            sockets: list = []
            sent_by_bob: list[str] = []

            def proxy(route) -> None:
                server = route.connect_to_server()
                sockets.append(server)

                def forward(message: str) -> None:
                    sent_by_bob.append(message)
                    server.send(message)

                route.on_message(forward)

            bob.route_web_socket(re.compile(r"/ws/room/\d+/$"), proxy)
            bob.goto(f"{bob_link}room/")
            assert bob.locator("html").get_attribute("lang") == "en"
            # Eve is three hours early: she waits, is not let in, and is not counted.
            eve = attendee(viewport={"width": 1280, "height": 900})
            eve.goto(f"{early_link}room/")

            for page in (alix, bob):
                connected(page)
                assert page.locator("#room-waiting").is_visible()
                assert not page.locator("#room-live").is_visible()
                assert page.locator("#room-countdown").inner_text()
            assert bob.locator("#room-connection").text_content() == "Connected"
            countdown = bob.locator("#room-countdown").text_content()
            assert re.fullmatch(r"The broadcast starts in (9|10) minutes\.", countdown)
            eve.locator("#room-connection[data-connection=waiting]").wait_for()
            opens_at = room_strings(eve)["opens_at"].split("%(time)s")[0]
            assert eve.locator("#room-connection").text_content().startswith(opens_at)
            shot(eve, "not-open-desktop")
            shot(alix, "waiting-desktop")
            shot(bob, "waiting-390")
            attending = presences(tmp_path)
            assert sorted(email for email, _id, live in attending if live) == [
                "alix@public.example",
                "bob@public.example",
            ]
            for page in (alix, bob):
                page.evaluate("window.notReloaded = true")

            # The animator starts the broadcast from the back office.
            animator = browser.new_context().new_page()
            watch(animator, problems)
            animator.goto(login_link)
            animator.get_by_role("button", name="Se connecter").click()
            animator.wait_for_url(f"{base}/app/")
            animator.goto(f"{base}/app/sessions/{session_id}/broadcast/start/")
            animator.get_by_role("button", name="Lancer la diffusion maintenant").click()
            animator.wait_for_url(f"{base}/app/sessions/{session_id}/broadcast/")

            for page in (alix, bob):
                page.locator("#room-live").wait_for()
                assert not page.locator("#room-waiting").is_visible()
                assert page.evaluate("window.notReloaded") is True  # switched in place
                # Nothing was focused: focus goes to the room's title, and it is announced.
                assert page.evaluate("document.activeElement.id") == "room-live-title"
                expect(page.locator("#room-status")).to_have_text(
                    room_strings(page)["announce_live"]
                )
            shot(alix, "live-desktop")

            # Alix sends HTML and script: Bob sees it as text, nothing runs.
            field = alix.locator("#room-chat-text")
            field.fill(HOSTILE)
            field.press("Enter")
            message = bob.locator(".antenne-chat__message").filter(has_text="bonjour")
            message.wait_for()
            assert message.locator(".antenne-chat__text").inner_text() == HOSTILE
            # The room does not show attendees' names (the default): "Attendee" in Bob's
            # language, never Alix's name.
            assert message.locator(".antenne-chat__author").inner_text() == "Attendee"
            assert bob.locator("#room-chat-list img, #room-chat-list script").count() == 0
            assert bob.evaluate("document.querySelectorAll('img[src=x]').length") == 0
            alix.locator(".antenne-chat__text", has_text="bonjour").wait_for()
            assert field.input_value() == ""
            assert alix.evaluate("document.activeElement.id") == "room-chat-text"
            # Screen readers hear a lone message with its author; then, at most one
            # announcement per 5 s: a burst is summed up. Nobody hears their own messages.
            expect(bob.locator("#room-chat-news")).to_have_text(f"Attendee: {HOSTILE}")
            for text in ("un", "deux", "trois"):
                field.fill(text)
                field.press("Enter")
                expect(field).to_have_value("")
            expect(bob.locator("#room-chat-news")).to_have_text("3 new messages", timeout=8000)
            assert bob.locator(".antenne-chat__message").count() == 4
            assert alix.locator("#room-chat-news").text_content() == ""

            # Refusals show next to the field, which keeps the focus and the text: ours for
            # the codes the page knows, else the server's own message.
            errors = alix.locator("#room-chat-messages")
            field.press("Enter")
            expect(errors).to_have_text(room_strings(alix)["errors"]["chat.empty"])
            assert alix.evaluate("document.activeElement.id") == "room-chat-text"
            field.fill("nul\x00")  # refused by the payload schema: protocol.invalid_payload
            field.press("Enter")
            expect(errors).to_contain_text("text:")
            assert field.input_value() == "nul\x00"
            assert alix.locator("#room-chat-text[aria-invalid=true]").count() == 1
            field.fill("")
            expect(errors).to_be_empty()

            # The animator, in the room from the back office, answers and deletes a message.
            animator.goto(f"{base}/app/")
            deleted = animator.evaluate(
                """async ([path, text]) => {
                    const ws = new WebSocket(`ws://${location.host}${path}`);
                    const replies = {};
                    ws.onmessage = (e) => { const m = JSON.parse(e.data); replies[m[1]] = m; };
                    await new Promise((ok) => { ws.onopen = ok; });
                    const call = async (id, action, payload) => {
                        ws.send(JSON.stringify([action, id, payload]));
                        while (!replies[id]) await new Promise((ok) => setTimeout(ok, 20));
                        return replies[id];
                    };
                    await call(1, "join", {});
                    const sent = await call(2, "chat.send", {text});
                    await new Promise((ok) => setTimeout(ok, 400));
                    const gone = await call(3, "chat.delete", {message_id: sent[2].id});
                    ws.close();
                    return [sent, gone];
                }""",
                [f"/ws/room/{session_id}/", "Message à supprimer"],
            )
            assert deleted[1][0] == "success", deleted
            staff_line = bob.locator(".antenne-chat__message").filter(has_text="à supprimer")
            staff_line.wait_for(state="detached")
            assert alix.locator(".antenne-chat__text", has_text="à supprimer").count() == 0

            # The server side drops Bob's connection: he reconnects by himself and resyncs,
            # getting the message Alix sent meanwhile.
            sockets[-1].close()
            bob.locator("#room-connection[data-connection=reconnecting]").wait_for()
            shot(bob, "reconnecting-390")
            field.fill("Pendant la coupure")
            field.press("Enter")
            alix.locator(".antenne-chat__text", has_text="Pendant la coupure").wait_for()
            connected(bob)
            bob.locator(".antenne-chat__text", has_text="Pendant la coupure").wait_for()
            assert len(sockets) == 2
            rejoin = json.loads([m for m in sent_by_bob if '"join"' in m][-1])[2]
            assert rejoin["epoch"]  # a resync from the last frame seen, not a fresh start
            assert rejoin["last_seq"] >= 1
            assert bob.locator(".antenne-chat__text", has_text="bonjour").count() == 1
            shot(bob, "live-390")

            # The animator ends the broadcast: both pages thank their attendee, in place.
            api(base, token, "POST", f"/sessions/{session_id}/end")
            for page in (alix, bob):
                page.locator("#room-ended").wait_for()
                assert not page.locator("#room-live").is_visible()
                assert not page.locator("#room-connection").is_visible()
                assert page.evaluate("window.notReloaded") is True
            assert bob.locator("#room-ended").inner_text().startswith("This webinar is over")
            shot(alix, "ended-desktop")

            # room.js's backoff, from the page itself: 1 s × 2^n ± 30 %, at most 30 s.
            delays = alix.evaluate(
                """async () => {
                    const {backoffDelay} = await import("/static/antenne/room.js");
                    return [0, 1, 2, 3, 4, 5, 9].map((n) => [0, 0.5, 0.9999].map(
                        (r) => backoffDelay(n, () => r)));
                }"""
            )
            assert delays[0] == [700, 1000, 1300]
            assert delays[3] == [5600, 8000, 10400]
            assert all(max(row) <= 30000 for row in delays)
            assert delays[-1] == [21000, 30000, 30000]
            assert eve.locator("#room-waiting").is_visible()
            browser.close()

        rows = presences(tmp_path)
        assert not any(live for _email, _id, live in rows)  # everyone left with the end
        assert [email for email, _id, _live in rows].count("bob@public.example") == 2
        assert "early@public.example" not in {email for email, _id, _live in rows}
        assert not dialogs, dialogs
        assert not problems, problems
