"""What the attendees' room looks like to a person, and to axe-core, in headless Chromium
against a real `antenne run`: the join page, the room before, during and after the broadcast,
and the invitation on stage, each at 1280 px and on a 390 px phone, with zero axe-core
violations. On the phone the stage comes first, and the tabs are never clipped. The
invitation's check shows the person's own camera and microphone level, sends nothing, and
releases both when they decline. With ANTENNE_SCREENSHOTS=1 the states are kept in
docs/screenshots/ (room-live-desktop, room-live-390, room-invited-390, French; some in
English)."""

from __future__ import annotations

import pytest

from tests import peers
from tests.e2e.look import assert_accessible, screenshot
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.e2e.test_room import api, demo_animator, webinar_session
from tests.e2e.test_room_interactions import STAFF_SOCKET
from tests.helpers import antenne_run

pytestmark = pytest.mark.e2e

FAKE_DEVICES = [
    *CHROMIUM_ARGS,
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Every getUserMedia stream the page gets, to see that they are released.
STREAMS_PROBE = """
window.__streams = [];
if (navigator.mediaDevices) {
  const native = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (...args) => {
    const stream = await native(...args);
    window.__streams.push(stream);
    return stream;
  };
}
"""
# Camera and microphone tracks still live (a track moved to another stream counts once).
LIVE_TRACKS = (
    "() => new Set(window.__streams.flatMap((s) => s.getTracks())"
    ".filter((t) => t.readyState === 'live')).size"
)


def clipped(page, selector: str) -> list[str]:
    """The elements under `selector` whose content does not fit (cut off or scrolled)."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((e) => {
            const box = e.getBoundingClientRect();
            return e.scrollWidth > e.clientWidth + 1 || box.right > innerWidth + 1 || box.left < -1;
        }).map((e) => e.id || e.textContent.trim())""",
        selector,
    )


def test_the_room_in_every_state_at_1280_and_390_px_passes_axe(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import expect, sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        login_link, token, team_id = demo_animator(base, tmp_path)
        session_id = webinar_session(base, token, team_id, "Atelier numérique", minutes_ahead=10)
        links = {}
        for first_name in ("Alix", "Bob", "Chloé"):
            body = {
                "email": f"{first_name.lower().replace('é', 'e')}@public.example",
                "first_name": first_name,
                "last_name": "Test",
            }
            links[first_name] = api(
                base, token, "POST", f"/sessions/{session_id}/registrations", body
            )["join_url"]

        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=FAKE_DEVICES)

            def page_of(viewport, lang="fr"):
                context = browser.new_context(viewport=viewport, has_touch=viewport == PHONE)
                if lang != "fr":
                    context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
                context.add_init_script(STREAMS_PROBE)
                page = context.new_page()
                watch(page, problems)
                return page

            alix = page_of(DESKTOP)  # French, desktop
            bob = page_of(PHONE)  # French, phone
            media_requests: list[str] = []
            bob.on("request", lambda r: "/media/" in r.url and media_requests.append(r.url))
            chloe = page_of(PHONE, "en")  # English, phone
            pages = {"1280 px": alix, "390 px": bob, "390 px, English": chloe}

            # The join page, then the room before the broadcast.
            for name, page in pages.items():
                who = {alix: "Alix", bob: "Bob", chloe: "Chloé"}[page]
                page.goto(links[who])
                assert_accessible(page, f"join page, {name}")
                page.goto(f"{links[who]}room/")
                page.locator("#room-connection[data-connection=connected]").wait_for()
                expect(page.locator("#room-waiting")).to_be_visible()
                assert_accessible(page, f"room before the broadcast, {name}")
            screenshot(bob, "room-waiting-390")

            animator = page_of(DESKTOP)
            animator.goto(login_link)
            animator.get_by_role("button", name="Se connecter").click()
            animator.wait_for_url(f"{base}/app/")
            assert animator.evaluate(STAFF_SOCKET, f"/ws/room/{session_id}/")[0] == "success"

            def staff(action: str, payload: dict | None = None) -> dict:
                reply = animator.evaluate("([a, p]) => staffCall(a, p)", [action, payload or {}])
                assert reply[0] == "success", reply
                return reply[2]

            # Live, with something in each tab.
            api(base, token, "POST", f"/sessions/{session_id}/start")
            for page in pages.values():
                page.locator("#room-live").wait_for()
            alix.locator("#room-chat-text").fill("Bonjour à toutes et à tous !")
            alix.locator("#room-chat-text").press("Enter")
            staff("chat.send", {"text": "Bienvenue : posez vos questions dans l'onglet Questions."})
            staff("qa.ask", {"text": "Le support sera-t-il envoyé après la session ?"})
            poll = staff(
                "poll.create",
                {"question": "Utilisez-vous déjà la visio ?", "options": ["Oui", "Non"]},
            )["id"]
            staff("poll.open", {"poll_id": poll})
            for name, page in pages.items():
                page.locator(".antenne-chat__message").nth(1).wait_for()
                # The new poll and question cannot be missed: counted on their tabs.
                expect(page.locator("#room-tab-polls .antenne-tabs__count")).to_have_text("1")
                expect(page.locator("#room-tab-qa .antenne-tabs__count")).to_have_text("1")
                # No tab is clipped, whatever the width.
                assert clipped(page, "#room-tabs [role=tab], #room-tabs [role=tablist]") == []
                rows = page.evaluate(
                    "[...document.querySelectorAll('#room-tabs [role=tab]')]"
                    ".map((t) => Math.round(t.getBoundingClientRect().top))"
                )
                assert len(set(rows)) == 1, f"the tabs wrap on {name}"
                assert_accessible(page, f"room live, {name}")
            # On a phone, the stage comes first: above the hand, reactions and tabs, and
            # within the first screen.
            for page in (bob, chloe):
                stage = page.locator("#room-stage-title").locator("xpath=..").bounding_box()
                tabs = page.locator("#room-tabs").bounding_box()
                hand = page.locator("#room-hand").bounding_box()
                assert stage["y"] < hand["y"] < tabs["y"]
                assert stage["y"] < PHONE["height"] / 2
            screenshot(alix, "room-live-desktop")
            screenshot(bob, "room-live-390")
            screenshot(chloe, "room-live-390-en")
            bob.locator("#room-tab-polls").click()
            assert_accessible(bob, "room live, polls tab, 390 px")
            chloe.locator("#room-tab-qa").click()
            assert_accessible(chloe, "room live, questions tab, 390 px, English")

            # Keyboard: from the top of the live room, a skip link goes past the stage's
            # controls, the hand and the six reactions, straight to the tabs.
            alix.locator("#room-live-title").focus()
            alix.keyboard.press("Shift+Tab")
            skip = alix.locator(".antenne-room__skip")
            expect(skip).to_be_focused()
            expect(skip).to_be_visible()
            alix.keyboard.press("Enter")
            alix.keyboard.press("Tab")
            expect(alix.locator("#room-tab-chat")).to_be_focused()

            # The invitation on stage, on Bob's phone: what will happen, a check first.
            people = staff("people.list")["people"]
            bob_id = next(p["registration_id"] for p in people if p["name"] == "Bob")
            staff("stage.invite", {"registration_id": bob_id})
            dialog = bob.locator("#room-stage-dialog")
            expect(dialog).to_be_visible()
            assert bob.evaluate(LIVE_TRACKS) == 0  # no camera before the person asks
            bob.locator("#room-devices-check").click()
            video = bob.locator("#room-devices-video")
            expect(video).to_be_visible()
            bob.wait_for_function(
                "() => document.getElementById('room-devices-video').videoWidth > 0"
            )
            # The fake microphone beeps: the level moves.
            bob.wait_for_function("() => document.getElementById('room-devices-level').value > 0")
            assert bob.evaluate(LIVE_TRACKS) == 2
            # Chromium's fake devices have several microphones: the person picks another
            # one, which replaces the first in the preview (and in what goes on stage).
            microphones = bob.locator("#room-devices-microphone")
            expect(microphones).to_be_visible()
            options = microphones.locator("option")
            assert options.count() >= 2
            assert all(options.nth(i).inner_text().strip() for i in range(options.count()))
            other = options.nth(1).get_attribute("value")
            if microphones.input_value() == other:
                other = options.nth(0).get_attribute("value")
            microphones.select_option(other)
            bob.wait_for_function(
                """(id) => document.getElementById("room-devices-video").srcObject
                    .getAudioTracks().map((t) => t.getSettings().deviceId).join() === id""",
                arg=other,
            )
            bob.wait_for_function("() => document.getElementById('room-devices-level').value > 0")
            assert bob.evaluate(LIVE_TRACKS) == 2  # the first microphone was released
            assert_accessible(bob, "invitation on stage with the check, 390 px")
            screenshot(bob, "room-invited-390")
            # Declining releases the camera and microphone; nothing was ever sent.
            bob.get_by_role("button", name="Refuser").click()
            expect(dialog).to_be_hidden()
            bob.wait_for_function(f"() => ({LIVE_TRACKS})() === 0")
            assert [url for url in media_requests if "/feeds" in url] == []
            expect(bob.locator("#room-stage-self")).to_be_hidden()

            # The end.
            api(base, token, "POST", f"/sessions/{session_id}/end")
            for name, page in pages.items():
                page.locator("#room-ended").wait_for()
                assert_accessible(page, f"room ended, {name}")
            screenshot(bob, "room-ended-390")
            browser.close()
        assert problems == []
