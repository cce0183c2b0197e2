"""The studio (the console of animators and speakers) in headless Chromium against a real
`antenne run`, with fake camera and microphone: one screen at 1366×768 (the stage, the chat's
input and the questions' tab all in view without scrolling), tabs that follow the ARIA tabs
pattern and count what comes in unseen, the device check (preview, microphone level, test
sound), a poll prepared before the session, the green room opened and the broadcast started
and ended in place through a dialog (the page never goes anywhere), the poll still open
closed by the end; the panel under the stage at 1024 px. axe-core on each state; screenshots
in docs/screenshots/ with ANTENNE_SCREENSHOTS=1. Media on stage through the start, with both
engines, is in tests/e2e/test_media.py."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import pytest

from tests import peers
from tests.e2e.look import assert_accessible, screenshot
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.e2e.test_console import CSP_PROBE, SPEAKER, Attendee, speaker_link
from tests.e2e.test_room import api, demo_animator, webinar_session
from tests.helpers import antenne_run

pytestmark = pytest.mark.e2e

ONE_SCREEN = ("#console-stage .antenne-studio__screen", "#console-publish", "#console-layout",
              "#console-chat-text", "#console-chat-form button", "#studio-tab-qa")  # fmt: skip
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def in_view(page, selector: str) -> bool:
    """Whether the element is wholly inside the window, as the page is scrolled now."""
    return page.evaluate(
        """(selector) => {
          const box = document.querySelector(selector).getBoundingClientRect();
          return box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0
            && box.bottom <= window.innerHeight && box.right <= window.innerWidth;
        }""",
        selector,
    )


def test_the_studio_runs_a_webinar_from_one_screen(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import expect, sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        login_link, token, team_id = demo_animator(base, tmp_path)
        session_id = webinar_session(base, token, team_id, "Atelier numérique", minutes_ahead=20)
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
        guest_link = speaker_link(tmp_path)
        studio_url = f"{base}/app/sessions/{session_id}/room/"

        problems: list[str] = []
        with sync_playwright() as playwright, ExitStack() as stack:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=[*CHROMIUM_ARGS, *FAKE_MEDIA]
            )
            stack.callback(browser.close)
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            context.add_init_script(CSP_PROBE)
            animator = context.new_page()
            watch(animator, problems)
            animator.goto(login_link)
            animator.get_by_role("button", name="Se connecter").click()
            animator.wait_for_url(f"{base}/app/")
            animator.goto(studio_url)
            animator.locator("#console-connection[data-connection=connected]").wait_for()
            strings = json.loads(animator.locator("#antenne-console-strings").text_content())

            # One screen: the stage and its control bar, the chat's input and the questions'
            # tab, without scrolling.
            for selector in ONE_SCREEN:
                assert in_view(animator, selector), selector
            assert animator.evaluate("window.scrollY") == 0
            expect(animator.locator("#studio-timer")).to_contain_text(
                strings["timer"]["soon"].split("%(time)s")[0].strip()
            )

            # The speaker arrives: the backstage tab counts their message while the chat is
            # shown; the animator sees who is backstage.
            speaker_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            watch(speaker_page, problems)
            speaker_page.goto(f"{guest_link}room/")
            speaker_page.locator("#console-connection[data-connection=connected]").wait_for()
            speaker_page.locator("#studio-tab-backstage").click()
            speaker_page.locator("#console-backstage-text").fill("Je suis prête")
            speaker_page.locator("#console-backstage-text").press("Enter")
            expect(animator.locator("#studio-tab-backstage")).to_contain_text("1")
            expect(animator.locator("#studio-tab-backstage .fr-sr-only")).to_have_text(
                " (" + strings["unread"]["one"].replace("%(count)s", "1") + ")"
            )
            # Keyboard: from the selected tab, the arrow moves to the next one and shows it.
            animator.locator("#studio-tab-chat").focus()
            animator.keyboard.press("ArrowRight")
            expect(animator.locator("#studio-tab-backstage")).to_be_focused()
            expect(animator.locator("#studio-tab-backstage")).to_have_attribute(
                "aria-selected", "true"
            )
            expect(animator.locator("#studio-pane-backstage")).to_be_visible()
            expect(animator.locator("#studio-pane-chat")).to_be_hidden()
            expect(animator.locator("#studio-tab-backstage [data-unread]")).to_be_hidden()
            expect(animator.locator("#console-backstage-list")).to_contain_text("Je suis prête")
            # Who is backstage: the speaker sees the animator, the animator the speaker.
            expect(speaker_page.locator("#console-backstage-people")).to_contain_text("Camille")
            animator.locator("#console-people-refresh").dispatch_event("click")
            expect(animator.locator("#console-backstage-people")).to_contain_text("Sacha Orateur")
            animator.keyboard.press("Home")
            expect(animator.locator("#studio-tab-chat")).to_be_focused()

            # The device check: the preview plays, the microphone's meter moves.
            animator.locator("#console-preview-start").click()
            expect(animator.locator("#console-preview")).to_be_visible()
            deadline = time.monotonic() + 10
            while animator.locator("#studio-level").evaluate("(meter) => meter.value") == 0:
                assert time.monotonic() < deadline, "the microphone's meter does not move"
                time.sleep(0.1)
            animator.locator("#studio-speaker-test").click()
            expect(animator.locator("#console-media-messages")).to_contain_text(
                strings["test_sound"]
            )

            # A poll prepared before the session: the form closes once it is saved.
            animator.locator("#studio-tab-polls").click()
            animator.locator("#console-poll-create > summary").click()
            animator.locator("#console-poll-question").fill("Quel format préférez-vous ?")
            options = animator.locator("#console-poll-option-list input")
            options.nth(0).fill("Court")
            options.nth(1).fill("Long")
            animator.locator("#console-poll-form button[type=submit]").click()
            poll = animator.locator("#console-polls-list > li").filter(has_text="Quel format")
            expect(poll).to_contain_text(strings["poll_states"]["draft"])
            expect(animator.locator("#console-poll-create")).not_to_have_attribute("open", "")
            expect(animator.locator("#console-poll-form")).to_be_hidden()
            expect(animator.locator("#console-polls-messages")).to_contain_text(
                strings["done"]["poll_created"]
            )
            animator.locator("#studio-tab-chat").click()
            animator.evaluate("window.scrollTo(0, 0)")
            assert_accessible(animator, "studio before going live, 1366 px")
            screenshot(animator, "studio-before-live")

            # The green room opens in place: a dialog confirms; the page stays.
            attendee = Attendee(stack, base, session_id, join_url.rstrip("/").rsplit("/", 1)[-1])
            animator.locator("[data-broadcast=green-room] button").click()
            dialog = animator.locator("#studio-dialog")
            expect(dialog).to_be_visible()
            expect(dialog).to_contain_text(strings["broadcast"]["green-room"]["text"])
            assert_accessible(animator, "studio, the dialog that opens the green room")
            animator.keyboard.press("Escape")  # not now
            expect(dialog).to_be_hidden()
            expect(animator.locator("[data-broadcast=green-room] button")).to_be_focused()
            animator.locator("[data-broadcast=green-room] button").click()
            dialog.get_by_role("button", name=strings["broadcast"]["green-room"]["button"]).click()
            expect(animator.locator("#console-state-badge")).to_have_text(
                strings["states"]["green_room"]
            )
            expect(dialog).to_be_hidden()
            expect(animator.locator("[data-broadcast=start] button")).to_be_focused()
            assert attendee.wait_for("state") == {"state": "green_room"}
            attendee.pushes.clear()

            # The start, in place: the speaker's and the attendee's pages see the room live.
            animator.locator("[data-broadcast=start] button").click()
            dialog.get_by_role("button", name=strings["broadcast"]["start"]["button"]).click()
            expect(animator.locator("#console-state-badge")).to_have_text(strings["states"]["live"])
            expect(speaker_page.locator("#console-state-badge")).to_have_text(
                strings["states"]["live"]
            )
            assert attendee.wait_for("state") == {"state": "live"}
            assert animator.url == studio_url  # nobody went anywhere
            expect(animator.locator("#studio-timer")).to_contain_text(
                strings["timer"]["live"].split("%(time)s")[0].strip()
            )
            # The poll launched in one click; the attendee answers it.
            animator.locator("#studio-tab-polls").click()
            poll.get_by_role("button", name=strings["actions"]["open_poll"]).click()
            opened = attendee.wait_for("poll.opened")
            assert (
                attendee.call("poll.vote", {"poll_id": opened["id"], "choices": [0]})[0]
                == "success"
            )
            expect(poll).to_contain_text("1 (100 %)")
            # Questions and the chat count on their tabs while the polls are shown.
            assert attendee.call("qa.ask", {"text": "Et le replay ?"})[0] == "success"
            assert attendee.call("chat.send", {"text": "Bonjour !"})[0] == "success"
            expect(animator.locator("#studio-tab-qa [data-unread]")).to_be_visible()
            expect(animator.locator("#studio-tab-chat [data-unread]")).to_be_visible()
            animator.evaluate("window.scrollTo(0, 0)")
            assert_accessible(animator, "studio live with a poll, 1366 px")
            screenshot(animator, "studio-live-poll")

            # 1024 px: the panel folds under the stage.
            animator.set_viewport_size({"width": 1024, "height": 768})
            stage = animator.locator("#console-stage").bounding_box()
            panel = animator.locator("#studio-panel").bounding_box()
            assert panel["y"] >= stage["y"] + stage["height"]
            assert panel["width"] > 900
            assert animator.evaluate("document.documentElement.scrollWidth") <= 1024
            assert_accessible(animator, "studio live, 1024 px")
            screenshot(animator, "studio-1024", full_page=True)
            animator.set_viewport_size({"width": 1366, "height": 768})

            # The end, in place: the poll still open is closed with its results.
            animator.locator("[data-broadcast=end] button").click()
            dialog.get_by_role("button", name=strings["broadcast"]["end"]["button"]).click()
            expect(animator.locator("#console-state-badge")).to_have_text(
                strings["states"]["ended"]
            )
            expect(poll).to_contain_text(strings["poll_states"]["closed"])
            assert attendee.wait_for("poll.closed")["results"]["counts"] == [1, 0]
            assert animator.url == studio_url
            assert animator.evaluate("window.__csp") == []
        assert not problems, problems


def test_the_studio_in_english_and_on_a_phone(tmp_path):
    """The English studio before going live, and the speaker's on a 390 px phone."""
    chromium = peers.chromium()
    from playwright.sync_api import sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        login_link, token, team_id = demo_animator(base, tmp_path)
        session_id = webinar_session(base, token, team_id, "Digital workshop", minutes_ahead=20)
        api(
            base,
            token,
            "POST",
            f"/sessions/{session_id}/speakers",
            {"email": SPEAKER, "name": "Sacha Orateur"},
        )
        guest_link = speaker_link(tmp_path)
        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=[*CHROMIUM_ARGS, *FAKE_MEDIA]
            )
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en")
            host = base.split("//", 1)[1].split(":")[0]
            context.add_cookies(
                [{"name": "django_language", "value": "en", "domain": host, "path": "/"}]
            )
            page = context.new_page()
            watch(page, problems)
            page.goto(login_link)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{base}/app/")
            page.goto(f"{base}/app/sessions/{session_id}/room/")
            page.locator("#console-connection[data-connection=connected]").wait_for()
            assert page.locator("#studio-tab-backstage").inner_text().startswith("Backstage")
            for selector in ONE_SCREEN:
                assert in_view(page, selector), selector
            assert_accessible(page, "studio in English, 1366 px")
            screenshot(page, "studio-before-live-en")

            phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
            speaker_page = phone.new_page()
            watch(speaker_page, problems)
            speaker_page.goto(f"{guest_link}room/")
            speaker_page.locator("#console-connection[data-connection=connected]").wait_for()
            assert speaker_page.evaluate("document.documentElement.scrollWidth") <= 390
            assert_accessible(speaker_page, "the speaker's studio, 390 px")
            screenshot(speaker_page, "studio-speaker-390", full_page=True)
            browser.close()
        assert not problems, problems
