"""A telephone caller hears the webinar's speaker, for both media engines.

Inside a network namespace of the test's own (ICE leaves loopback out): `antenne run` with
its SIP gateway, Janus for the Janus engine, headless Chromium as the speaker (its fake
microphone plays a 660 Hz tone from a file), and baresip as the caller. baresip dials the
gateway, types the session's PIN as RFC 4733 events, and records what it hears (its
`sndfile` module); an FFT of the recording finds the speaker's tone. Then the animator
gives the caller the floor: baresip's own 440 Hz tone is published into the room and the
animator's page receives it."""

from __future__ import annotations

import math
import sqlite3
import struct
import sys
import time
import wave
from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from tests import peers
from tests.e2e.test_browser_onboarding import watch
from tests.e2e.test_console import CSP_PROBE, speaker_link
from tests.e2e.test_media import (
    MEDIA_ARGS,
    PC_PROBE,
    antenne_in,
    api,
    chromium,  # noqa: F401 (a fixture)
    engine,  # noqa: F401 (the fixture: both engines)
    stats,
    webinar_with_speaker,
)
from tests.telephony.softphone import dominant_frequency

pytestmark = pytest.mark.e2e

SPEAKER_HZ = 660
CALLER_HZ = 440
SIP_PORT = 5060
BARESIP_SIP_PORT = 5077
BARESIP_CONSOLE_PORT = 5555

BARESIP_CONFIG = """\
module_path		/usr/lib/baresip/modules
sip_listen		{address}:{sip_port}
audio_player		aubridge,phone
audio_source		ausine,{caller_hz}
audio_alert		aubridge,phone
ausrc_srate		48000
ausrc_channels		2
module			account.so
module			g711.so
module			cons.so
module			ausine.so
module			aubridge.so
module			sndfile.so
module_app		menu.so
cons_listen		{address}:{console_port}
snd_path		{records}
"""


def _tone_wav(path: Path, hz: int, seconds: float = 10.0, rate: int = 48000) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (
            int(9000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(int(seconds * rate))
        )
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))


def _heard(records: Path) -> bytes:
    """The 8 kHz 16-bit PCM baresip decoded so far: its sndfile dump of the call, read while
    being written (the WAV header's sizes are only filled in at the end)."""
    [dump] = sorted(records.glob("*-dec.wav"))
    raw = dump.read_bytes()
    at = raw.find(b"data")
    if at < 0:
        return b""
    _channels, rate = struct.unpack_from("<HI", raw, raw.find(b"fmt ") + 10)
    assert rate == 8000
    pcm = raw[at + 8 :]
    return pcm[: len(pcm) - len(pcm) % 2]


def _db(data: Path, query: str, *args) -> list[tuple]:
    with closing(sqlite3.connect(data / "antenne.sqlite3")) as db:
        return db.execute(query, args).fetchall()


@pytest.fixture
def baresip() -> str:
    """baresip's path (tests/peers.py), asked for before `engine` (which may start Janus)."""
    return peers.baresip()


def test_a_caller_hears_the_speaker_and_is_heard_with_the_floor(
    tmp_path,
    chromium,  # noqa: F811
    baresip,
    netns,
    engine,  # noqa: F811
):
    from playwright.sync_api import expect, sync_playwright

    data = tmp_path / "data"
    data.mkdir()
    sip = {
        "ANTENNE_SIP_BIND": f"{netns.address}:{SIP_PORT}",
        "ANTENNE_SIP_ALLOWED_SOURCES": f"{netns.address}/32",
        "ANTENNE_PHONE_NUMBER": "+33 1 23 45 67 89",
    }
    with antenne_in(netns, data, **engine, **sip) as base:
        assert (
            f"Telephone dial-in (SIP, UDP and TCP): {netns.address}:{SIP_PORT}"
            in (data / "antenne.log").read_text()
        )
        session_id, token, login_link = webinar_with_speaker(netns, data, base, "Tél")
        [(pin,)] = _db(data, "SELECT phone_pin FROM events_session WHERE id = ?", session_id)
        guest_link = speaker_link(data)
        api(netns, base, token, "POST", f"/sessions/{session_id}/green-room")

        tone = tmp_path / "speaker.wav"
        _tone_wav(tone, SPEAKER_HZ)
        records = tmp_path / "records"
        records.mkdir()
        config_dir = tmp_path / "baresip"
        config_dir.mkdir()
        (config_dir / "config").write_text(
            BARESIP_CONFIG.format(
                address=netns.address,
                sip_port=BARESIP_SIP_PORT,
                console_port=BARESIP_CONSOLE_PORT,
                caller_hz=CALLER_HZ,
                records=records,
            )
        )
        (config_dir / "accounts").write_text(f"<sip:+33612345678@{netns.address}>;regint=0\n")

        problems: list[str] = []
        with sync_playwright() as playwright, ExitStack() as stack:
            secure = f"--unsafely-treat-insecure-origin-as-secure={base}"
            browser = playwright.chromium.launch(
                executable_path=str(netns.wrapper(tmp_path, chromium)),
                args=[*MEDIA_ARGS, secure, f"--use-file-for-fake-audio-capture={tone}"],
            )
            stack.callback(browser.close)

            def page_for():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_init_script(CSP_PROBE)
                context.add_init_script(PC_PROBE)
                page = context.new_page()
                watch(page, problems)
                return page

            speaker = page_for()
            speaker.goto(f"{guest_link}room/")
            speaker.locator("#console-connection[data-connection=connected]").wait_for()
            speaker.locator("#console-publish").click()
            expect(speaker.locator("#console-stage-tiles figure")).to_have_count(1)
            api(netns, base, token, "POST", f"/sessions/{session_id}/start")

            # The caller dials in and types the PIN.
            log = (tmp_path / "baresip.log").open("w")
            stack.callback(log.close)
            phone = netns.popen(
                [
                    baresip,
                    "-f",
                    str(config_dir),
                    "-e",
                    f"/dial sip:antenne@{netns.address}:{SIP_PORT}",
                ],
                stdout=log,
                stderr=log,
            )

            def stop_phone() -> None:
                phone.terminate()
                try:
                    phone.wait(10)
                except Exception:
                    phone.kill()
                    phone.wait(5)

            stack.callback(stop_phone)
            deadline = time.monotonic() + 20
            while not list(records.glob("*-dec.wav")):
                assert time.monotonic() < deadline, (tmp_path / "baresip.log").read_text()[-3000:]
                time.sleep(0.2)
            time.sleep(1.5)
            keys = netns.run(
                [
                    sys.executable,
                    "-c",
                    _TYPE_KEYS,
                    netns.address,
                    str(BARESIP_CONSOLE_PORT),
                    pin + "#",
                ],
                timeout=30,
            )
            assert keys.returncode == 0
            deadline = time.monotonic() + 20
            while not _db(
                data,
                "SELECT p.id FROM telephony_phonecall c"
                " JOIN rooms_presence p ON p.id = c.presence_id WHERE c.session_id = ?"
                " AND p.device = 'phone' AND p.left_at IS NULL",
                session_id,
            ):
                assert time.monotonic() < deadline, (data / "antenne.log").read_text()[-5000:]
                time.sleep(0.3)
            # After the "live" prompt: the speaker's tone, through the engine and the bridge.
            deadline = time.monotonic() + 30
            while True:
                time.sleep(1.0)
                heard = _heard(records)
                frequency, share = dominant_frequency(heard[-2 * 8000 :])
                if abs(frequency - SPEAKER_HZ) < 15 and share > 0.5:
                    break
                assert time.monotonic() < deadline, (frequency, share, len(heard))

            # The animator gives the caller the floor: their voice reaches the animator.
            animator = page_for()
            animator.goto(login_link)
            animator.get_by_role("button", name="Se connecter").click()
            animator.wait_for_url(f"{base}/app/")
            animator.goto(f"{base}/app/sessions/{session_id}/room/")
            animator.locator("#console-connection[data-connection=connected]").wait_for()
            animator.locator("#studio-tab-people").click()  # the people list and raised hands
            row = animator.locator("#console-people-list li", has_text="Par téléphone").first
            expect(row).to_contain_text("+33 •• 78")
            deadline = time.monotonic() + 30
            while _audio_tracks(animator) < 1:  # the speaker's, first
                assert time.monotonic() < deadline, stats(animator)
                time.sleep(0.5)
            before = _audio_tracks(animator)
            row.get_by_role("button", name="Donner la parole à").click()
            deadline = time.monotonic() + 30
            while _audio_tracks(animator) <= before:
                assert time.monotonic() < deadline, stats(animator)
                time.sleep(0.5)
            [(feeds,)] = _db(
                data,
                "SELECT count(*) FROM rooms_stagefeed f JOIN rooms_presence p"
                " ON p.id = f.presence_id WHERE p.device = 'phone' AND f.ended_at IS NULL",
            )
            assert feeds == 1
            # After the "you have the floor" prompt, the caller still hears the speaker (not
            # themselves: the 440 Hz they send is left out of what they hear).
            time.sleep(5.0)
            frequency, _share = dominant_frequency(_heard(records)[-2 * 8000 :])
            assert abs(frequency - SPEAKER_HZ) < 15, frequency

            # The end: goodbye, the gateway hangs up, attendance is recorded as "phone".
            api(netns, base, token, "POST", f"/sessions/{session_id}/end")
            deadline = time.monotonic() + 30
            while _db(
                data,
                "SELECT id FROM telephony_phonecall WHERE session_id = ? AND outcome = 'active'",
                session_id,
            ):
                assert time.monotonic() < deadline
                time.sleep(0.5)
            [(outcome, received, lost)] = _db(
                data,
                "SELECT outcome, packets_received, packets_lost FROM telephony_phonecall"
                " WHERE session_id = ?",
                session_id,
            )
            assert outcome == "completed"
            assert received > 100, received
            assert lost <= received // 100, (lost, received)
        assert problems == []


def _audio_tracks(page) -> int:
    """Audio streams the page receives with bytes flowing."""
    return len([a for a in stats(page)["in"] if a["kind"] == "audio" and a["bytes"] > 0])


_TYPE_KEYS = """
import socket, sys, time
address, port, keys = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for key in keys:
    sock.sendto(key.encode(), (address, port))
    time.sleep(0.35)
"""
