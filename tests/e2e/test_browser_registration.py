"""A visitor registers on a published webinar's public page in headless Chromium against a
real `antenne run` (demo data), is told to check their email (the page shows no join link,
whatever the address), finds the link in the mailbox and opens the waiting page — with no
script or CSP error on the way, and no axe-core violation on the registration page (desktop
and 390 px, French and English), the embed, the page after registering and the join page."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing

import pytest

from tests import peers
from tests.e2e.look import assert_accessible, screenshot
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.helpers import ANTENNE, antenne_env, antenne_run, links_in, wait_for_mailbox

pytestmark = pytest.mark.e2e

# A cover for the demo webinar (DSFR blues), given as the animator would upload it.
COVER_SCRIPT = """
import io
from PIL import Image, ImageOps
from django.core.files.uploadedfile import SimpleUploadedFile
from antenne.events import services
from antenne.events.models import Event
event = Event.objects.filter(published=True).order_by("pk").first()
gray = Image.linear_gradient("L").rotate(90).resize((1200, 400))
image = ImageOps.colorize(gray, "#000091", "#8585f6")
data = io.BytesIO()
image.save(data, "PNG")
upload = SimpleUploadedFile("cover.png", data.getvalue(), content_type="image/png")
services.update_event(actor=event.owner, event=event, cover_image=upload)
"""


def test_visitor_registers_and_reaches_the_waiting_page(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        env = antenne_env(tmp_path, ANTENNE_BASE_URL=base)
        subprocess.run([*ANTENNE, "demo"], env=env, check=True, capture_output=True, timeout=120)
        subprocess.run(
            [*ANTENNE, "manage", "shell", "-c", COVER_SCRIPT],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        with closing(sqlite3.connect(tmp_path / "antenne.sqlite3")) as db:
            [(event_id, title)] = db.execute(
                "SELECT id, title FROM events_event WHERE published ORDER BY id LIMIT 1"
            ).fetchall()
        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(
                timezone_id="America/Montreal", viewport={"width": 1280, "height": 900}
            )
            page = context.new_page()
            watch(page, problems)
            page.goto(f"{base}/e/{event_id}/?utm_source=lettre")
            assert page.locator("h1").inner_text() == title
            when = page.locator(".antenne-when").first
            # The session's zone, and the visitor's (Montreal ≠ Paris), near the title.
            assert "(Europe/Paris)" in when.inner_text()
            visitor = when.locator(".antenne-when__visitor")
            assert visitor.is_visible()
            assert "(America/" in visitor.inner_text()
            assert "jours" in when.locator("[data-unit=day]").inner_text()  # the countdown
            assert when.get_by_role("link", name="Google").is_visible()
            assert page.locator(".antenne-avatar", has_text="ML").is_visible()  # Marc Leblanc
            page.locator(".antenne-cover").wait_for()
            assert_accessible(page, "registration page, French, 1280 px")
            screenshot(page, "registration-page", full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            assert_accessible(page, "registration page, French, 390 px")
            screenshot(page, "registration-page-390", full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})

            embed = context.new_page()
            watch(embed, problems)
            embed.goto(f"{base}/e/{event_id}/?embed=1")
            assert embed.locator(".antenne-when__visitor").first.is_visible()
            assert_accessible(embed, "registration embed")
            embed.close()

            english = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")
            english.add_cookies([{"name": "django_language", "value": "en", "url": base}])
            english_page = english.new_page()
            watch(english_page, problems)
            english_page.goto(f"{base}/e/{event_id}/")
            english_when = english_page.locator(".antenne-when").first
            assert english_page.locator("html").get_attribute("lang") == "en"
            assert "days" in english_when.locator("[data-unit=day]").inner_text()
            assert english_when.locator(".antenne-when__visitor").is_hidden()  # same zone
            assert_accessible(english_page, "registration page, English")
            english.close()

            page.get_by_role("textbox", name="Adresse électronique").fill("Visiteur@Public.example")
            page.get_by_role("textbox", name="Prénom").fill("Vic")
            page.get_by_role("textbox", name="Nom", exact=True).fill("Iteur")
            page.locator("input[name=consent]").check(force=True)
            page.get_by_role("button", name="S’inscrire").click()
            page.wait_for_url(f"{base}/e/{event_id}/registered/")
            assert page.locator("a[href*='/join/']").count() == 0
            assert "visiteur@public.example" in page.locator("main").inner_text()
            assert "(Europe/Paris)" in page.locator(".antenne-when").inner_text()
            assert_accessible(page, "page after registering")
            screenshot(page, "registration-registered", full_page=True)
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
            assert_accessible(page, "join page before the room opens")
            browser.close()
        assert wait_for_mailbox(tmp_path, "visiteur@public.example") == 1
        with closing(sqlite3.connect(tmp_path / "antenne.sqlite3")) as db:
            [(utm,)] = db.execute("SELECT utm FROM registrations_registration").fetchall()
        assert "lettre" in utm
        assert not problems, problems
