"""The console (the staff's and speakers' side of the room) in headless Chromium against a
real `antenne run`.

The animator opens the console from the session page (desktop, 1280 px); a guest speaker
opens theirs from the link in their invitation (a 390 px phone). They talk backstage, which
the attendee never receives. An attendee (a WebSocket client of this test, like a browser's)
chats, raises a hand and asks an anonymous question: the animator sees the hand, the
attendee's name on the message and on the question; the speaker sees neither name. The
animator answers the question, mutes the attendee (whose next message is refused with
`room.muted`), and creates, opens and closes a poll the attendee answers. No script error and
no CSP violation on either page."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import time
from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from tests import peers
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.e2e.test_room import api, demo_animator, webinar_session
from tests.helpers import antenne_run, links_in, wait_for_mailbox

pytestmark = pytest.mark.e2e

SPEAKER = "sacha@partenaire.example"
HOSTILE = "<img src=x onerror=alert(1)> coulisses"
# Screenshots of both consoles go here (looked at by eye; not asserted).
SCREENSHOTS = Path(os.environ.get("ANTENNE_CONSOLE_SCREENSHOTS", tempfile.gettempdir()))
# Records CSP violations from the page itself (init scripts run outside the page's CSP).
CSP_PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


class Attendee:
    """A registrant in the room through its WebSocket, as the room page would be."""

    def __init__(self, stack: ExitStack, base: str, session_id: int, join_key: str) -> None:
        from websockets.sync.client import connect

        url = base.replace("http", "ws", 1) + f"/ws/room/{session_id}/"
        self.ws = stack.enter_context(connect(url, origin=base, proxy=None, open_timeout=10))
        self.pushes: list[tuple[str, str, dict]] = []  # (channel, event, data)
        self.ids = 0
        self.joined = self.call("join", {"join_key": join_key, "device": "mobile"})

    def call(self, action: str, payload: dict) -> list:
        self.ids += 1
        self.ws.send(json.dumps([action, self.ids, payload]))
        while True:
            message = json.loads(self.ws.recv(timeout=10))
            if message[0] in ("success", "error") and message[1] == self.ids:
                return message
            self.keep(message)

    def keep(self, message: list) -> None:
        if message[0] in ("frame", "backstage"):
            self.pushes.extend((message[0], e, d) for e, d in message[1]["events"])

    def wait_for(self, event: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for _channel, name, data in self.pushes:
                if name == event:
                    return data
            self.keep(json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def drain(self, wait: float = 0.5) -> None:
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.keep(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                break


def speaker_link(data_dir: Path) -> str:
    wait_for_mailbox(data_dir, SPEAKER)
    with closing(sqlite3.connect(data_dir / "antenne.sqlite3")) as db:
        [(body,)] = db.execute(
            'SELECT body_text FROM mailing_mailboxmessage WHERE "to" = ?', (SPEAKER,)
        ).fetchall()
    [link] = {u for u in links_in(body) if "/speaker/" in u}
    return link


def connected(page) -> None:
    page.locator("#console-connection[data-connection=connected]").wait_for()


def show(page, tab: str) -> None:
    """Select one of the studio's side-panel tabs (chat, backstage, qa, polls, people…)."""
    page.locator(f"#studio-tab-{tab}").click()


def card(page, list_id: str, text: str):
    return page.locator(f"#{list_id} > li").filter(has_text=text)


def test_staff_and_a_speaker_moderate_the_room_from_their_consoles(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import expect, sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        login_link, token, team_id = demo_animator(base, tmp_path)
        session_id = webinar_session(base, token, team_id, "Console test", minutes_ahead=10)
        api(
            base,
            token,
            "POST",
            f"/sessions/{session_id}/speakers",
            {"email": SPEAKER, "name": "Sacha Orateur"},
        )
        join_url = api(
            base,
            token,
            "POST",
            f"/sessions/{session_id}/registrations",
            {"email": "alix@public.example", "first_name": "Alix", "last_name": "Test"},
        )["join_url"]
        join_key = join_url.rstrip("/").rsplit("/", 1)[-1]
        with closing(sqlite3.connect(tmp_path / "antenne.sqlite3")) as db:
            [(registration_id,)] = db.execute(
                "SELECT id FROM registrations_registration WHERE email = 'alix@public.example'"
            ).fetchall()
        guest_link = speaker_link(tmp_path)

        problems: list[str] = []
        with sync_playwright() as playwright, ExitStack() as stack:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

            def page_for(**options):
                context = browser.new_context(**options)
                context.add_init_script(CSP_PROBE)
                page = context.new_page()
                watch(page, problems)
                page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
                return page

            # The animator: from the session page to the console.
            animator = page_for(viewport={"width": 1280, "height": 900})
            animator.goto(login_link)
            animator.get_by_role("button", name="Se connecter").click()
            animator.wait_for_url(f"{base}/app/")
            animator.goto(f"{base}/app/sessions/{session_id}/")
            animator.locator(f"a[href='/app/sessions/{session_id}/room/']").click()
            animator.wait_for_url(f"{base}/app/sessions/{session_id}/room/")
            connected(animator)
            strings = json.loads(animator.locator("#antenne-console-strings").text_content())

            # The speaker: their invitation's link, then the green room, on a phone.
            speaker = page_for(viewport={"width": 390, "height": 844}, has_touch=True)
            # Its room connection goes through a proxy the test can cut from the server side.
            sockets: list = []
            joins: list[dict] = []

            def proxy(route) -> None:
                server = route.connect_to_server()
                sockets.append(server)

                def forward(message: str) -> None:
                    if '"join"' in message:
                        joins.append(json.loads(message)[2])
                    server.send(message)

                route.on_message(forward)

            speaker.route_web_socket(re.compile(r"/ws/room/\d+/$"), proxy)
            speaker.goto(guest_link)
            speaker.locator(f"a[href='{guest_link.removeprefix(base)}room/']").click()
            speaker.wait_for_url(f"{guest_link}room/")
            connected(speaker)
            staff_only = "#console-polls, #console-settings, [data-broadcast]"
            assert speaker.locator(staff_only).count() == 0

            attendee = Attendee(stack, base, session_id, join_key)
            assert attendee.joined[0] == "success", attendee.joined

            # Backstage: both ways, as text; screen readers hear the other side's message.
            show(animator, "backstage")
            show(speaker, "backstage")
            field = animator.locator("#console-backstage-text")
            field.fill(HOSTILE)
            field.press("Enter")
            line = card(speaker, "console-backstage-list", "coulisses")
            line.wait_for()
            assert line.locator(".antenne-chat__text").inner_text() == HOSTILE
            assert speaker.locator("#console-backstage-list img").count() == 0
            expect(speaker.locator("#console-news")).to_contain_text("coulisses")
            speaker.locator("#console-backstage-text").fill("Je suis prête")
            speaker.locator("#console-backstage-form button[type=submit]").click()
            card(animator, "console-backstage-list", "Je suis prête").wait_for()
            expect(card(animator, "console-backstage-list", "Je suis prête")).to_contain_text(
                "Sacha Orateur"
            )
            expect(animator.locator("#console-news")).to_contain_text("Je suis prête")
            assert field.input_value() == ""

            # The attendee writes, raises a hand and asks anonymously.
            assert attendee.call("chat.send", {"text": "Bonjour la salle"})[0] == "success"
            assert attendee.call("hand.raise", {})[0] == "success"
            asked = attendee.call("qa.ask", {"text": "Et le replay ?", "anonymous": True})
            assert asked[0] == "success", asked

            # Staff see who wrote and asked; the speaker sees neither name.
            show(animator, "chat")
            message = card(animator, "console-chat-list", "Bonjour la salle")
            expect(message).to_contain_text("Alix")
            registration = strings["registration"].replace("%(id)s", str(registration_id))
            expect(message).to_contain_text(registration)
            expect(card(speaker, "console-chat-list", "Bonjour la salle")).to_contain_text(
                strings["someone"]
            )
            assert "Alix" not in card(speaker, "console-chat-list", "Bonjour la salle").inner_text()
            expect(card(animator, "console-hands-list", "Alix")).to_have_count(1)
            expect(animator.locator("#studio-tab-people [data-unread]")).to_be_visible()
            expect(animator.locator("#console-hands-count")).to_have_text("1")
            raised = strings["announce"]["hand_raised"].replace("%(name)s", "Alix")
            expect(animator.locator("#console-news")).to_contain_text(raised)
            show(animator, "qa")
            show(speaker, "qa")
            question = card(animator, "console-qa-list", "Et le replay ?")
            expect(question).to_contain_text("Alix")
            expect(question).to_contain_text(strings["asked_anonymously"])
            speaker_question = card(speaker, "console-qa-list", "Et le replay ?")
            speaker_question.wait_for()
            assert "Alix" not in speaker_question.inner_text()
            assert speaker_question.locator("button").count() == 0  # read-only

            # The animator answers the question; the speaker sees it.
            question.get_by_role("button", name=strings["actions"]["answer"]).click()
            expect(speaker_question).to_contain_text(strings["question_states"]["answered"])

            # The people list: everyone here, and the animator mutes the attendee.
            show(animator, "people")
            show(speaker, "people")
            person = card(animator, "console-people-list", "Alix")
            expect(person).to_have_count(1)
            # A guest speaker is named by their link.
            guest = card(animator, "console-people-list", "Sacha Orateur")
            expect(guest).to_have_count(1)
            mute = strings["actions"]["mute_label"].replace("%(name)s", "Alix")
            person.get_by_role("button", name=mute).focus()
            animator.keyboard.press("Enter")  # keyboard users moderate too
            expect(person).to_contain_text(strings["muted"])
            # The list was drawn again: the focus is on the same toggle, now "unmute".
            unmute = strings["actions"]["unmute_label"].replace("%(name)s", "Alix")
            expect(person.get_by_role("button", name=unmute)).to_be_focused()
            refused = attendee.call("chat.send", {"text": "Encore moi"})
            assert refused[0] == "error"
            assert refused[2]["code"] == "room.muted"
            # The speaker's list is read-only and shows the mute too, after a refresh.
            speaker.locator("#console-people-refresh").click()
            speaker_person = card(speaker, "console-people-list", "Alix")
            expect(speaker_person).to_contain_text(strings["muted"])
            assert speaker_person.locator("button").count() == 0

            # Lowering the hand from the queue empties it.
            lower = strings["actions"]["lower_hand_label"].replace("%(name)s", "Alix")
            card(animator, "console-hands-list", "Alix").get_by_role("button", name=lower).click()
            expect(animator.locator("#console-hands-list > li")).to_have_count(0)
            expect(speaker.locator("#console-hands-list > li")).to_have_count(0)

            # A poll: created as a draft, opened, answered, closed.
            show(animator, "polls")
            animator.locator("#console-poll-create > summary").click()
            animator.locator("#console-poll-question").fill("Quel format préférez-vous ?")
            animator.locator("#console-poll-add").click()
            options = animator.locator("#console-poll-option-list input")
            expect(options).to_have_count(3)
            for index, text in enumerate(["Court", "Long", "Les deux"]):
                options.nth(index).fill(text)
            animator.locator("label[for=console-poll-live]").click()
            animator.locator("#console-poll-form button[type=submit]").click()
            poll = card(animator, "console-polls-list", "Quel format")
            expect(poll).to_contain_text(strings["poll_states"]["draft"])
            expect(options).to_have_count(2)  # the form is ready for the next one
            expect(animator.locator("#console-poll-form")).to_be_hidden()  # and closed
            poll.get_by_role("button", name=strings["actions"]["open_poll"]).click()
            opened = attendee.wait_for("poll.opened")
            assert opened["options"] == ["Court", "Long", "Les deux"]
            voted = attendee.call("poll.vote", {"poll_id": opened["id"], "choices": [1]})
            assert voted[0] == "success", voted
            expect(poll).to_contain_text("1 (100 %)")
            poll.get_by_role("button", name=strings["actions"]["close_poll"]).click()
            expect(poll).to_contain_text(strings["poll_states"]["closed"])
            closed = attendee.wait_for("poll.closed")
            assert closed["results"]["counts"] == [0, 1, 0]

            # The speaker's connection drops: a message sent backstage meanwhile is there when
            # it comes back (backstage pushes are not replayed: the console rejoins afresh).
            show(animator, "backstage")
            show(speaker, "backstage")
            sockets[-1].close()
            speaker.locator("#console-connection[data-connection=reconnecting]").wait_for()
            field.fill("Pendant la coupure")
            field.press("Enter")
            card(animator, "console-backstage-list", "Pendant la coupure").wait_for()
            connected(speaker)
            card(speaker, "console-backstage-list", "Pendant la coupure").wait_for()
            assert len(sockets) == 2
            assert joins == [{"speaker_token": guest_link.rstrip("/").rsplit("/", 1)[-1]}] * 2
            expect(card(speaker, "console-qa-list", "Et le replay ?")).to_have_count(1)

            # The animator starts the broadcast from the studio, in place (a dialog confirms);
            # the speaker and the attendee see the room go live.
            animator.locator("[data-broadcast=start] button").click()
            animator.get_by_role("button", name="Lancer la diffusion maintenant").click()
            assert animator.url == f"{base}/app/sessions/{session_id}/room/"
            live = strings["states"]["live"]
            expect(speaker.locator("#console-state-badge")).to_have_text(live)
            expect(animator.locator("#console-state-badge")).to_have_text(live)
            assert attendee.wait_for("state") == {"state": "live"}
            assert animator.locator("[data-broadcast]:visible").count() == 1  # "end" only
            expect(animator.locator("[data-broadcast=end]")).to_be_visible()
            show(animator, "polls")
            card(animator, "console-polls-list", "Quel format").wait_for()

            animator.screenshot(path=str(SCREENSHOTS / "console-staff-1280.png"), full_page=True)
            speaker.screenshot(path=str(SCREENSHOTS / "console-speaker-390.png"), full_page=True)

            # The attendee never received anything backstage.
            attendee.drain()
            assert not [p for p in attendee.pushes if p[0] == "backstage"]
            texts = json.dumps([d for _c, _e, d in attendee.pushes], ensure_ascii=False)
            assert "coulisses" not in texts
            assert "Je suis prête" not in texts
            attendee.ws.close()

            for page in (animator, speaker):
                assert page.evaluate("window.__csp") == []
            browser.close()
        assert not problems, problems
