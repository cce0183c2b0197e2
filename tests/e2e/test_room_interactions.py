"""Taking part in the live room, in headless Chromium against a real `antenne run`.

Two attendees (Alix on a desktop in French, Bob on a 390 px phone in English) and the
animator, in the room over a WebSocket from the back office page. With attendees' names shown,
Alix asks anonymously and Bob never learns her name; Bob's `<script>` question is text; each
upvotes the other's question once, never their own. The animator opens a poll: it appears on
both pages without reload and is announced; both vote, the animator closes it and both see the
results as bars with percentages in text; a poll with live results updates as votes come in.
Bob raises and lowers his hand (the animator sees the queue); the animator invites Bob on
stage: only Bob's page asks him, he accepts. Reactions float by on the other page. Closing the
chat and the questions disables their forms, with an explanation; a muted attendee is told.
No script error and no CSP violation anywhere."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests import peers
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.e2e.test_room import api, demo_animator, room_strings, webinar_session
from tests.helpers import antenne_run

pytestmark = pytest.mark.e2e

HOSTILE = "<script>alert('q')</script><img src=x onerror=alert(3)> Et la sécurité ?"
# Set to a directory to keep screenshots (desktop and phone) of the room's panels.
SCREENSHOTS = os.environ.get("ANTENNE_ROOM_SCREENSHOTS", "")

# The animator's connection to the room, from a back-office page (its login cookie): a
# `staffCall(action, payload)` for the test, and every event it receives in `staffEvents`.
STAFF_SOCKET = """async (path) => {
    const ws = new WebSocket(`ws://${location.host}${path}`);
    const replies = {};
    window.staffEvents = [];
    ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m[0] === "success" || m[0] === "error") replies[m[1]] = m;
        else staffEvents.push(...(m[1].events || []));
    };
    await new Promise((ok) => { ws.onopen = ok; });
    let next = 1;
    window.staffCall = async (action, payload) => {
        const id = next++;
        ws.send(JSON.stringify([action, id, payload]));
        while (!replies[id]) await new Promise((ok) => setTimeout(ok, 20));
        return replies[id];
    };
    return staffCall("join", {});
}"""


LIVE_CLIENT_REFUSED = """async (path) => {
    const { LiveClient } = await import("/static/antenne/live-client.js");
    const seen = [];
    const client = await new Promise((done) => {
        const client = new LiveClient({
            url: `ws://${location.host}${path}`,
            join: () => ({}),
            handlers: {
                status: (state, detail) => {
                    seen.push(["status", state, detail.code || null]);
                    if (state === "closed") done(client);
                },
                error: (code) => { seen.push(["error", code]); },
            },
        });
        client.start();
    });
    seen.push(["call", await client.call("ping", {}).catch((error) => error.code)]);
    return seen;
}"""


def fill(template: str, **values) -> str:
    """room.js's `%(name)s` placeholders."""
    return re.sub(r"%\((\w+)\)s", lambda m: str(values[m.group(1)]), template)


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"room2-{name}.png"), full_page=True)


def test_attendees_ask_upvote_vote_raise_hands_react_and_answer_the_stage(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import expect, sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        login_link, token, team_id = demo_animator(base, tmp_path)
        session_id = webinar_session(base, token, team_id, "Salle active", minutes_ahead=5)
        links = {}
        for first_name in ("Alix", "Bob"):
            body = {
                "email": f"{first_name.lower()}@public.example",
                "first_name": first_name,
                "last_name": "Test",
            }
            links[first_name] = api(
                base, token, "POST", f"/sessions/{session_id}/registrations", body
            )["join_url"]
        api(base, token, "POST", f"/sessions/{session_id}/start")

        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

            def page_of(**options):
                page = browser.new_context(**options).new_page()
                watch(page, problems)
                page.on("dialog", lambda d: (problems.append(f"alert: {d.message}"), d.dismiss()))
                return page

            alix = page_of(viewport={"width": 1280, "height": 900})
            # Bob's phone asks for less motion: reactions then fade in place.
            bob = page_of(
                viewport={"width": 390, "height": 844}, has_touch=True, reduced_motion="reduce"
            )
            bob.context.add_cookies([{"name": "django_language", "value": "en", "url": base}])
            alix.goto(f"{links['Alix']}room/")
            bob.goto(f"{links['Bob']}room/")

            animator = page_of()
            animator.goto(login_link)
            animator.get_by_role("button", name="Se connecter").click()
            animator.wait_for_url(f"{base}/app/")
            assert animator.evaluate(STAFF_SOCKET, f"/ws/room/{session_id}/")[0] == "success"

            def staff(action: str, payload: dict | None = None) -> dict:
                reply = animator.evaluate("([a, p]) => staffCall(a, p)", [action, payload or {}])
                assert reply[0] == "success", reply
                return reply[2]

            def staff_saw(event: str, **fields) -> None:
                animator.wait_for_function(
                    """([name, fields]) => staffEvents.some(([e, d]) => e === name
                        && Object.entries(fields).every(([k, v]) => d[k] === v))""",
                    arg=[event, fields],
                )

            for page in (alix, bob):
                page.locator("#room-connection[data-connection=connected]").wait_for()
                page.locator("#room-live").wait_for()
                page.evaluate("window.notReloaded = true")
            strings = {"alix": room_strings(alix), "bob": room_strings(bob)}
            # The room shows attendees' names: anonymity is then what hides Alix.
            staff("room.settings", {"show_attendee_names": True})

            # --- Questions -----------------------------------------------------------------
            # The tabs follow the ARIA tabs pattern: the right arrow selects Questions and
            # moves the focus to it; only the selected tab is in the Tab order.
            alix.locator("#room-tab-chat").focus()
            alix.keyboard.press("ArrowRight")
            expect(alix.locator("#room-tab-qa")).to_have_attribute("aria-selected", "true")
            assert alix.evaluate("document.activeElement.id") == "room-tab-qa"
            expect(alix.locator("#room-panel-qa")).to_be_visible()
            expect(alix.locator("#room-panel-chat")).to_be_hidden()
            assert alix.locator("#room-tabs [role=tab][tabindex='0']").count() == 1
            alix.keyboard.press("End")
            assert alix.evaluate("document.activeElement.id") == "room-tab-polls"
            alix.keyboard.press("ArrowRight")  # wraps round to the first
            assert alix.evaluate("document.activeElement.id") == "room-tab-chat"
            alix.keyboard.press("ArrowLeft")
            alix.keyboard.press("ArrowLeft")
            assert alix.evaluate("document.activeElement.id") == "room-tab-qa"
            alix.locator("#room-qa-text").fill("Peut-on revoir la session ?")
            alix.locator("#room-qa-anonymous").check(force=True)  # DSFR draws its own box
            alix.locator("#room-qa-form button[type=submit]").click()
            expect(alix.locator("#room-qa-messages")).to_have_text(strings["alix"]["question_sent"])
            expect(alix.locator("#room-qa-text")).to_have_value("")
            mine = alix.locator(".antenne-qa__item").filter(has_text="revoir la session")
            expect(mine.locator(".antenne-qa__author")).to_have_text(strings["alix"]["anonymous"])
            expect(mine.locator("button")).to_have_count(0)  # never one's own
            expect(mine).to_contain_text(strings["alix"]["own_question"])

            # Bob, on another tab, is told how many new questions there are.
            bob_qa_tab = bob.locator("#room-tab-qa")
            expect(bob_qa_tab.locator("[data-unread]")).to_be_visible()
            expect(bob_qa_tab).to_have_accessible_name("Questions (1 new)")
            expect(bob_qa_tab.locator(".antenne-tabs__count")).to_have_text("1")
            bob_qa_tab.click()
            expect(bob_qa_tab.locator("[data-unread]")).to_be_hidden()
            hers = bob.locator(".antenne-qa__item").filter(has_text="revoir la session")
            expect(hers.locator(".antenne-qa__author")).to_have_text("Anonymous")
            bob.locator("#room-qa-text").fill(HOSTILE)
            bob.get_by_role("button", name="Ask", exact=True).click()
            his = alix.locator(".antenne-qa__item").filter(has_text="sécurité")
            expect(his.locator(".antenne-qa__text")).to_have_text(HOSTILE)  # text, not HTML
            expect(his.locator(".antenne-qa__author")).to_have_text("Bob")
            assert alix.locator("#room-qa-list script, #room-qa-list img").count() == 0

            # One upvote each: the button is then disabled; the count reaches everyone.
            upvote = hers.get_by_role("button", name="Upvote")
            upvote.click()
            expect(hers.get_by_role("button", name="Upvoted")).to_be_disabled()
            expect(hers.locator(".antenne-qa__votes")).to_have_text("1 vote")
            expect(mine.locator(".antenne-qa__votes")).to_have_text("1 vote")
            # Most upvoted first: Alix's question is now above Bob's on both pages.
            expect(alix.locator(".antenne-qa__item").first).to_contain_text("revoir la session")
            his.get_by_role("button", name=strings["alix"]["upvote"]).click()
            expect(his.get_by_role("button", name=strings["alix"]["upvoted"])).to_be_disabled()
            expect(bob.locator(".antenne-qa__item").filter(has_text="sécurité")).to_contain_text(
                "1 vote"
            )
            staff("qa.answer", {"question_id": int(mine.get_attribute("data-id"))})
            expect(hers).to_contain_text("Answered")
            expect(hers.get_by_role("button")).to_have_count(0)
            # Nothing on Bob's page names Alix, and nothing ran on either page.
            assert "Alix" not in bob.locator("#antenne-room").inner_text()
            assert bob.evaluate("document.querySelectorAll('img[src=x]').length") == 0
            # Bob opens the room again (a reload, another tab): his own question still
            # offers no upvote, which the server would refuse.
            again = bob.context.new_page()
            watch(again, problems)
            again.goto(f"{links['Bob']}room/")
            again.locator("#room-tab-qa").click()
            his_again = again.locator(".antenne-qa__item").filter(has_text="sécurité")
            expect(his_again).to_contain_text("Your question")
            expect(his_again.get_by_role("button")).to_have_count(0)
            again.close()
            shot(alix, "qa-desktop")
            shot(bob, "qa-390")

            # --- Polls ---------------------------------------------------------------------
            poll = staff(
                "poll.create",
                {"question": "Quel format préférez-vous ?", "options": ["Court", "Long"]},
            )["id"]
            staff("poll.open", {"poll_id": poll})
            bob_polls_tab = bob.locator("#room-tab-polls")
            expect(bob_polls_tab).to_have_accessible_name("Polls (1 new)")
            expect(bob.locator("#room-status")).to_have_text(
                "New poll: Quel format préférez-vous ?"
            )
            bob_polls_tab.click()
            alix.locator("#room-tab-polls").click()
            card = alix.locator(f".antenne-poll[data-id='{poll}']")
            card.locator("label", has_text="Court").click()
            card.get_by_role("button", name=strings["alix"]["poll_vote"], exact=True).click()
            expect(card).to_contain_text(strings["alix"]["poll_voted"])
            expect(card).to_contain_text(strings["alix"]["poll_results_later"])
            # Voted: the focus stays on the poll (its confirmation), not lost on the page.
            assert alix.evaluate("document.activeElement.id") == f"room-poll-{poll}-voted"
            bob.get_by_role("button", name="Vote", exact=True).click()  # nothing chosen
            expect(bob.locator(f"#room-poll-{poll}-messages")).to_have_text(
                "Choose an answer first."
            )
            bob.locator("label", has_text="Long").click()
            bob.get_by_role("button", name="Vote", exact=True).click()
            expect(bob.locator(f".antenne-poll[data-id='{poll}']")).to_contain_text(
                "Your vote is recorded."
            )
            staff("poll.close", {"poll_id": poll})
            for page in (alix, bob):
                bars = page.locator(f".antenne-poll[data-id='{poll}'] .antenne-poll__bar")
                expect(bars).to_have_count(2)
                expect(bars.first.locator(".antenne-poll__figure")).to_have_text(
                    re.compile(r"^50\s?% · 1 vote$")
                )
            voters = fill(strings["alix"]["poll_voters"]["other"], count=2)
            expect(card.locator(".antenne-poll__results-title")).to_contain_text(voters)
            expect(card.locator(".antenne-poll__mine")).to_have_count(1)  # her own answer

            # A poll with several answers and live results: Bob's vote shows on Alix's page
            # before the close.
            live = staff(
                "poll.create",
                {
                    "question": "Quels sujets ?",
                    "options": ["Données", "Accessibilité", "Sécurité"],
                    "multiple": True,
                    "results_live": True,
                },
            )["id"]
            staff("poll.open", {"poll_id": live})
            live_card = bob.locator(f".antenne-poll[data-id='{live}']")
            expect(live_card.locator("input[type=checkbox]")).to_have_count(3)
            live_card.locator("label", has_text="Données").click()
            live_card.locator("label", has_text="Sécurité").click()
            live_card.get_by_role("button", name="Vote", exact=True).click()
            alix_live = alix.locator(f".antenne-poll[data-id='{live}']")
            expect(alix_live.locator(".antenne-poll__figure").nth(2)).to_have_text(
                re.compile(r"^100\s?% · 1 vote$")
            )
            expect(alix_live.locator("input[type=checkbox]")).to_have_count(3)  # still to answer
            shot(alix, "polls-desktop")
            shot(bob, "polls-390")

            # --- Hands ---------------------------------------------------------------------
            # The button says what it does: "Raise my hand", then "Lower my hand".
            hand = bob.locator("#room-hand")
            expect(hand).to_have_accessible_name("Raise my hand")
            hand.click()
            expect(hand).to_have_accessible_name("Lower my hand")
            staff_saw("hand.raised", name="Bob")
            expect(bob.locator("#room-hand-status")).to_have_text(
                "Your hand is raised: the organisers can see it."
            )
            shot(bob, "hand-390")
            hand.click()
            expect(hand).to_have_accessible_name("Raise my hand")
            staff_saw("hand.lowered", name="Bob")
            hand.click()  # up again: going on stage will lower it
            expect(hand).to_have_accessible_name("Lower my hand")

            # --- Reactions: Alix's applause floats by on Bob's page --------------------------
            alix.locator(".antenne-reactions__button[data-emoji='👏']").click()
            bubble = bob.locator(".antenne-reactions__bubble")
            expect(bubble).to_contain_text("👏 1")
            assert bubble.evaluate("(b) => getComputedStyle(b).animationName") == "antenne-fade"
            alix_bubble = alix.locator(".antenne-reactions__bubble")  # hers too, moving
            assert alix_bubble.evaluate("(b) => getComputedStyle(b).animationName") == (
                "antenne-float"
            )

            # --- The stage: only Bob's page asks him --------------------------------------
            people = staff("people.list")["people"]
            bob_id = next(p["registration_id"] for p in people if p["name"] == "Bob")
            invitation = staff("stage.invite", {"registration_id": bob_id})
            dialog = bob.locator("#room-stage-dialog")
            expect(dialog).to_be_visible()
            expect(bob.get_by_role("dialog", name="You are invited on stage")).to_be_visible()
            expect(bob.locator("#room-status")).to_have_text("You are invited on stage.")
            # It says what accepting does, and focus is inside (a modal dialog keeps it).
            expect(dialog).to_contain_text("your camera and your microphone are shared")
            expect(dialog).not_to_contain_text("later version")
            assert bob.evaluate("document.activeElement.closest('dialog')?.id") == (
                "room-stage-dialog"
            )
            # Tab goes round the dialog's buttons (and out to the browser's own controls,
            # the document's body for the page), never to the room behind it.
            visited = set()
            for key in ["Tab"] * 8 + ["Shift+Tab"] * 8:
                bob.keyboard.press(key)
                where = bob.evaluate(
                    """() => { const e = document.activeElement;
                        return e === document.body ? "" : e.closest("dialog") ? e.id : "out"; }"""
                )
                assert where != "out"
                visited.add(where)
            assert {"room-devices-check", "room-stage-accept", "room-stage-decline"} <= visited
            shot(bob, "stage-390")
            alix.wait_for_timeout(400)  # a frame or two after Bob's
            assert not alix.locator("#room-stage-dialog").is_visible()
            assert alix.locator("#room-stage-notice").is_hidden()
            # Escape puts the question off, not away: the notice brings the dialog back.
            bob.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            bob.get_by_role("button", name="Answer the invitation").click()
            expect(dialog).to_be_visible()
            bob.get_by_role("button", name="Accept and go on stage").click()
            expect(dialog).to_be_hidden()
            staff_saw("stage.accepted", invitation_id=invitation["invitation_id"])
            expect(bob.locator("#room-stage-notice")).to_contain_text("You are on stage")
            # On stage, his hand went down: staff's queue and his button say so.
            animator.wait_for_function(
                """() => staffEvents.filter(([e, d]) => e === "hand.lowered"
                    && d.name === "Bob").length === 2"""
            )
            expect(hand).to_have_accessible_name("Raise my hand")

            # --- Settings: closed chat and questions, muted ----------------------------------
            alix.locator("#room-tab-chat").click()
            staff("room.settings", {"chat_enabled": False, "questions_enabled": False})
            expect(alix.locator("#room-chat-text")).to_be_disabled()
            expect(alix.locator("#room-qa-text")).to_be_disabled()
            expect(alix.locator("#room-chat-closed")).to_be_visible()
            bob_qa_tab.click()
            expect(bob.locator("#room-qa-closed")).to_be_visible()
            expect(bob.locator("#room-qa-text")).to_be_disabled()
            staff("room.settings", {"chat_enabled": True, "questions_enabled": True})
            expect(alix.locator("#room-chat-text")).to_be_enabled()
            expect(alix.locator("#room-chat-closed")).to_be_hidden()
            staff("chat.mute", {"registration_id": bob_id})
            bob.locator("#room-tab-chat").click()
            bob.locator("#room-chat-text").fill("Je parle ?")
            bob.locator("#room-chat-text").press("Enter")
            expect(bob.locator("#room-muted")).to_be_visible()
            expect(bob.locator("#room-chat-messages")).to_have_text(
                strings["bob"]["errors"]["room.muted"]
            )
            shot(alix, "live-desktop")
            shot(bob, "live-390")

            for page in (alix, bob):
                assert page.evaluate("window.notReloaded") is True

            # live-client.js, as the staff console uses it: a refused join is told to the
            # `error` handler and stops the client (no credentials: join.unauthenticated);
            # a call without a connection is refused at once.
            seen = alix.evaluate(LIVE_CLIENT_REFUSED, f"/ws/room/{session_id}/")
            assert seen == [
                ["status", "connecting", None],
                ["error", "join.unauthenticated"],
                ["status", "closed", "join.unauthenticated"],
                ["call", "connection.lost"],
            ]
            browser.close()

        assert not problems, problems
