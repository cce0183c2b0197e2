"""The stage end to end, for both media engines: headless Chromium with fake devices, a real
`antenne run` and (for the Janus engine) a real Janus, all inside a network namespace of the
test's own (ICE leaves loopback out; see tests/netns.py).

A guest speaker publishes from the green room and the animator sees them; the animator goes
on stage too and starts the broadcast from the studio, in place: both stay published and the
attendees waiting decode them within 2 s, nobody clicking again; two attendees receive video
frames and audio (read from `getStats()`: frames decoded
and bytes received growing); the speaker shares their screen, which joins the camera on
stage; an attendee invited on stage accepts and publishes, everyone receives them, then the
animator removes them and their stream stops; the animator ends and every stream stops on
every page. No script error and no CSP violation."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import peers
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.e2e.test_console import CSP_PROBE, SPEAKER, speaker_link
from tests.e2e.test_room import demo_animator
from tests.helpers import antenne_env
from tests.netns import Netns

pytestmark = pytest.mark.e2e

MEDIA_ARGS = [
    *CHROMIUM_ARGS,
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--auto-accept-this-tab-capture",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
SCREENSHOTS = os.environ.get("ANTENNE_MEDIA_SCREENSHOTS", "")

# Test instrumentation, outside the page's code: keep every peer connection the page makes.
PC_PROBE = """
window.__pcs = [];
const NativePC = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new NativePC(...args);
  window.__pcs.push(pc);
  return pc;
};
window.RTCPeerConnection.prototype = NativePC.prototype;
window.__deviceRequests = 0;
if (navigator.mediaDevices) {
  const native = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (...args) => {
    window.__deviceRequests += 1;
    return native(...args);
  };
}
"""
# Per open connection: what it receives and sends, by kind.
STATS = """async () => {
  const out = { in: [], out: [], open: 0 };
  for (const pc of window.__pcs) {
    if (pc.connectionState === "closed") continue;
    out.open += 1;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp") out.in.push({ kind: s.kind, frames: s.framesDecoded || 0,
        bytes: s.bytesReceived || 0, width: s.frameWidth || 0 });
      if (s.type === "outbound-rtp") out.out.push({ kind: s.kind, bytes: s.bytesSent || 0 });
    });
  }
  return out;
}"""

API = """
import json, sys, urllib.request
method, url, token, body = sys.argv[1:5]
request = urllib.request.Request(url, method=method, data=body.encode() if body else None,
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=10) as response:
    sys.stdout.write(response.read().decode() or "null")
"""


def api(ns: Netns, base: str, token: str, method: str, path: str, body: dict | None = None):
    """The REST API, called from inside the namespace (where the server is)."""
    payload = json.dumps(body) if body is not None else ""
    done = ns.run(
        [sys.executable, "-c", API, method, f"{base}/api/v1{path}", token, payload],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return json.loads(done.stdout)


@contextmanager
def antenne_in(ns: Netns, data_dir: Path, **env: str) -> Iterator[str]:
    """`antenne run` inside the namespace, on its address; yields the base URL. Its output
    goes to `antenne.log` in the data dir (shown when the test fails)."""
    port = 8000
    base = f"http://{ns.address}:{port}"
    log = data_dir / "antenne.log"
    with log.open("w") as out:
        process = ns.popen(
            [sys.executable, "-m", "antenne", "run", "--host", ns.address, "--port", str(port)],
            env=antenne_env(data_dir, ANTENNE_BASE_URL=base, ANTENNE_WORKER_INTERVAL="1", **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base
    except BaseException:
        print(log.read_text()[-20000:])
        raise
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def webinar_with_speaker(ns: Netns, data: Path, base: str, title: str) -> tuple[int, str, str]:
    """On the demo workspace: an animator (`ANIMATOR`) with a login link and an API token, a
    webinar `title` with one session in 10 minutes and the guest speaker `SPEAKER` invited.
    Returns (session id, API token, the animator's login link)."""
    login_link, token, team_id = demo_animator(base, data)
    event = api(ns, base, token, "POST", "/events", {"title": title, "team_id": team_id})
    start = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    session_id = api(
        ns,
        base,
        token,
        "POST",
        f"/events/{event['id']}/sessions",
        {"starts_at": start, "confirm_conflicts": True},
    )["id"]
    speaker = {"email": SPEAKER, "name": "Sacha Orateur"}
    api(ns, base, token, "POST", f"/sessions/{session_id}/speakers", speaker)
    return session_id, token, login_link


def stats(page) -> dict:
    return page.evaluate(STATS)


def receives(page, *, videos: int, audio: bool = True, timeout: float = 30) -> dict:
    """Wait until the page decodes `videos` video streams and receives audio, all growing."""
    deadline = time.monotonic() + timeout
    before = stats(page)
    while True:
        time.sleep(1.0)
        now = stats(page)
        growing_videos = [
            v
            for v in now["in"]
            if v["kind"] == "video"
            and v["frames"] > 0
            and any(b["kind"] == "video" and b["frames"] < v["frames"] for b in before["in"])
        ]
        audio_bytes = [a["bytes"] for a in now["in"] if a["kind"] == "audio" and a["bytes"] > 0]
        old_audio = sum(a["bytes"] for a in before["in"] if a["kind"] == "audio")
        if len(growing_videos) >= videos and (not audio or sum(audio_bytes) > old_audio > 0):
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"not receiving {videos} videos (+audio={audio}): {now}")
        before = now


def feeds_open(data: Path) -> int:
    """Stage feeds not ended, as the server knows them."""
    with closing(sqlite3.connect(data / "antenne.sqlite3")) as db:
        return db.execute("SELECT count(*) FROM rooms_stagefeed WHERE ended_at IS NULL").fetchone()[
            0
        ]


# Per peer connection of the page (by its index), the bytes it has sent, if it is connected.
SENT = """async () => {
  const out = {};
  for (const [index, pc] of window.__pcs.entries()) {
    if (pc.connectionState !== "connected") continue;
    const report = await pc.getStats();
    let bytes = 0;
    report.forEach((s) => { if (s.type === "outbound-rtp") bytes += s.bytesSent || 0; });
    if (bytes) out[index] = bytes;
  }
  return out;
}"""


def decodes(page, *, videos: int, timeout: float = 30) -> float:
    """Seconds until the page has decoded frames of `videos` video streams (a figure printed,
    not a threshold: timings are not pass/fail in the suite, STYLE.md)."""
    started = time.monotonic()
    while True:
        now = stats(page)
        if len([v for v in now["in"] if v["kind"] == "video" and v["frames"] > 0]) >= videos:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"no frames of {videos} videos after {timeout} s: {now}")
        time.sleep(0.05)


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"media-{name}.png"), full_page=True)


@pytest.fixture
def chromium() -> str:
    """Chromium's path (tests/peers.py). Asked for before `engine`, so a missing Chromium
    skips the test before a Janus starts."""
    return peers.chromium()


@pytest.fixture(params=["embedded", "janus"])
def engine(request, netns, tmp_path) -> Iterator[dict[str, str]]:
    """The settings of Antenne for one engine (and, for Janus, a Janus in the namespace:
    skipped with the reason without the `janus` binary, see tests/peers.py)."""
    if request.param == "embedded":
        yield {"ANTENNE_MEDIA_ENGINE": "embedded"}
        return
    from tests.media.janus_fixture import janus_in_netns

    with janus_in_netns(netns, tmp_path / "janus") as settings:
        yield settings


def test_the_stage_from_green_room_to_the_end(tmp_path, chromium, netns, engine):
    from playwright.sync_api import expect, sync_playwright

    data = tmp_path / "data"
    data.mkdir()
    with antenne_in(netns, data, **engine) as base:
        session_id, token, login_link = webinar_with_speaker(netns, data, base, "Scène")
        links = {}
        for email, first_name in [("alix@x.example", "Alix"), ("bob@x.example", "Bob"),
                                  ("chloe@x.example", "Chloé")]:  # fmt: skip
            body = {"email": email, "first_name": first_name, "last_name": "Test"}
            links[first_name] = api(
                netns, base, token, "POST", f"/sessions/{session_id}/registrations", body
            )["join_url"]
        guest_link = speaker_link(data)
        api(netns, base, token, "POST", f"/sessions/{session_id}/green-room")

        problems: list[str] = []
        failed: list[str] = []  # requests of the pages that failed
        step = ["green room"]
        wrapper = netns.wrapper(tmp_path, chromium)
        with sync_playwright() as playwright, ExitStack() as stack:
            # Cameras need a secure context: https in production; here, the test's address.
            secure = f"--unsafely-treat-insecure-origin-as-secure={base}"
            browser = playwright.chromium.launch(
                executable_path=str(wrapper), args=[*MEDIA_ARGS, secure]
            )
            stack.callback(browser.close)

            def page_for(**options):
                context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
                context.add_init_script(CSP_PROBE)
                context.add_init_script(PC_PROBE)
                page = context.new_page()
                watch(page, problems)
                page.on(
                    "response",
                    lambda r: (
                        r.status >= 400
                        and failed.append(f"{step[0]}: {r.request.method} {r.url} {r.status}")
                    ),
                )
                return page

            # The speaker, in the green room, goes on stage; the animator sees them.
            speaker = page_for()
            speaker.goto(f"{guest_link}room/")
            speaker.locator("#console-connection[data-connection=connected]").wait_for()
            speaker.locator("#console-publish").click()
            expect(speaker.locator("#console-stage-tiles figure")).to_have_count(1)
            animator = page_for()
            animator.goto(login_link)
            animator.get_by_role("button", name="Se connecter").click()
            animator.wait_for_url(f"{base}/app/")
            animator.goto(f"{base}/app/sessions/{session_id}/room/")
            animator.locator("#console-connection[data-connection=connected]").wait_for()
            expect(animator.locator("#console-stage-tiles figure")).to_have_count(1)
            receives(animator, videos=1)
            assert stats(speaker)["out"], "the speaker sends nothing"

            # Attendees wait; the animator goes on stage too and starts from the studio, in
            # place: both stay on stage, and the attendees decode them without anyone
            # clicking again.
            step[0] = "start"
            alix, bob, chloe = page_for(), page_for(), page_for()
            chloe.context.add_cookies([{"name": "django_language", "value": "en", "url": base}])
            for page, name in [(alix, "Alix"), (chloe, "Chloé")]:
                page.goto(f"{links[name]}room/")
                page.locator("#room-connection[data-connection=connected]").wait_for()
            animator.locator("#console-publish").click()
            for page in (animator, speaker):
                expect(page.locator("#console-stage-tiles figure")).to_have_count(2)
            assert stats(alix)["open"] == 0  # nothing flows to attendees before the start
            studio_url = animator.url
            publishing = animator.evaluate(SENT)  # the animator's camera and microphone
            assert len(publishing) == 1, publishing
            animator.locator("[data-broadcast=start] button").click()
            animator.locator("#studio-dialog-confirm").click()
            badge = animator.locator("#console-state-badge")
            expect(badge).to_have_attribute("data-state", "live", timeout=15000)
            delay = decodes(alix, videos=2)  # nobody clicks anything else
            name = engine.get("ANTENNE_MEDIA_ENGINE")
            print(f"{name}: the attendee decodes the stage {delay:.2f} s after the start")
            assert animator.url == studio_url  # the studio stayed
            expect(animator.locator("#console-publish")).to_have_attribute("aria-pressed", "true")
            # The same connection goes on sending: the publication was never interrupted.
            [(index, sent)] = publishing.items()
            assert animator.evaluate(SENT).get(index, 0) > sent
            receives(alix, videos=2)
            # The animator leaves the stage; the speaker stays.
            animator.locator("#console-publish").click()
            expect(alix.locator("#room-stage-tiles figure")).to_have_count(1)
            # Bob comes late, into a broadcast already live.
            bob.goto(f"{links['Bob']}room/")
            for page in (alix, bob):
                expect(page.locator("#room-stage-tiles figure")).to_have_count(1)
                received = receives(page, videos=1)
                assert max(v["width"] for v in received["in"] if v["kind"] == "video") >= 320
            shot(alix, "live")
            # Watching asks for no camera or microphone.
            assert alix.evaluate("window.__deviceRequests") == 0

            # The speaker mutes their microphone: the attendees' tile says so; and back.
            speaker.locator("#console-mic").click()
            expect(speaker.locator("#console-mic")).to_have_attribute("aria-pressed", "false")
            mic_off = json.loads(alix.locator("#antenne-room-strings").text_content())["media"][
                "mic_off"
            ]
            expect(alix.locator("#room-stage-tiles .antenne-tile__state")).to_have_text(mic_off)
            speaker.locator("#console-mic").click()
            expect(alix.locator("#room-stage-tiles .antenne-tile__state")).to_have_text("")
            # The speaker-and-screen layout.
            alix.locator("#room-stage-layout").select_option("speaker")
            expect(alix.locator("#room-stage-tiles")).to_have_attribute("data-layout", "speaker")

            # Screen sharing joins the camera on stage.
            step[0] = "screen"
            speaker.locator("#console-screen").click()
            expect(speaker.locator("#console-screen")).to_have_attribute("aria-pressed", "true")
            for page in (alix, bob):
                expect(page.locator("#room-stage-tiles figure")).to_have_count(2)
                receives(page, videos=2)
            expect(alix.locator("#room-stage-tiles figure[data-source=screen]")).to_have_count(1)

            # Chloé is invited on stage, accepts, is seen; then removed, and her stream stops.
            step[0] = "invited"
            strings = json.loads(animator.locator("#antenne-console-strings").text_content())
            animator.locator("#studio-tab-people").click()
            invite = strings["actions"]["invite_label"].replace("%(name)s", "Chloé")
            animator.locator("#console-people-refresh").click()
            animator.get_by_role("button", name=invite).click()
            expect(animator.locator("#console-people-messages")).to_contain_text("Chloé")
            # The invitation says what accepting does and lets her check her devices first;
            # nothing is published before she accepts.
            dialog = chloe.locator("#room-stage-dialog")
            expect(dialog).to_be_visible()
            expect(dialog).to_contain_text(
                "If you accept, your camera and your microphone are shared with everyone"
            )
            expect(dialog).not_to_contain_text("later version")
            assert chloe.evaluate("window.__deviceRequests") == 0
            chloe.locator("#room-devices-check").click()
            chloe.wait_for_function(
                "() => document.getElementById('room-devices-video').videoWidth > 0"
            )
            chloe.wait_for_function("() => document.getElementById('room-devices-level').value > 0")
            chloe.wait_for_timeout(1500)  # time enough for anything sent to show
            assert feeds_open(data) == 2  # the speaker's camera and screen: nothing of hers
            assert not stats(chloe)["out"], "Chloé sends before accepting"
            expect(alix.locator("#room-stage-tiles figure")).to_have_count(2)
            chloe.locator("#room-stage-accept").click()
            # (Publishing waits for the ICE candidates: up to 4 s, more on a busy machine.)
            expect(chloe.locator("#room-stage-self")).to_be_visible(timeout=15000)
            assert feeds_open(data) == 3
            # What she checked is what goes on stage: the browser was asked once.
            assert chloe.evaluate("window.__deviceRequests") == 1
            expect(alix.locator("#room-stage-tiles figure")).to_have_count(3)
            receives(alix, videos=3)
            assert any(o["bytes"] > 0 for o in stats(chloe)["out"])
            remove = strings["actions"]["remove_label"].replace("%(name)s", "Chloé")
            animator.locator("#console-people-refresh").click()
            # The list is drawn again when the refresh answers: click its new button.
            expect(animator.get_by_role("button", name=remove)).to_be_visible()
            animator.get_by_role("button", name=remove).click()
            removed = strings["done"]["removed"].replace("%(name)s", "Chloé")
            expect(animator.locator("#console-people-messages")).to_have_text(removed)
            expect(chloe.locator("#room-stage-self")).to_be_hidden(timeout=15000)
            for page in (alix, bob, chloe):
                expect(page.locator("#room-stage-tiles figure")).to_have_count(2)
                receives(page, videos=2)  # the stage goes on playing after the change
            assert not stats(chloe)["out"], "Chloé still sends after leaving the stage"
            # The animator sees each person's media quality.
            expect(animator.locator("#console-media-stats tr").first).to_be_visible(timeout=15000)
            shot(animator, "console")

            # The end: every stream stops on every page.
            step[0] = "end"
            animator.locator("[data-broadcast=end] button").click()
            animator.locator("#studio-dialog-confirm").click()
            for page in (alix, bob, chloe):
                expect(page.locator("#room-ended")).to_be_visible()
            for page in (alix, bob, chloe, speaker, animator):
                deadline = time.monotonic() + 15
                while stats(page)["open"] and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert stats(page)["open"] == 0, "a stream is still open after the end"
            csp = [v for p in (alix, speaker, animator) for v in p.evaluate("window.__csp")]
            assert csp == []
        # Ending races with a subscription being completed: that one answer is a 409.
        assert [f for f in failed if not (f.startswith("end:") and f.endswith(" 409"))] == []
        assert problems == []
        with closing(sqlite3.connect(data / "antenne.sqlite3")) as db:
            open_feeds = db.execute(
                "SELECT count(*) FROM rooms_stagefeed WHERE ended_at IS NULL"
            ).fetchone()[0]
            samples = db.execute("SELECT count(*) FROM rooms_mediasample").fetchone()[0]
        assert open_feeds == 0
        assert samples > 0  # media stats were kept for the session
