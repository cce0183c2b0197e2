"""The organiser's path in headless Chromium against a real `antenne run`: the dashboard
with one's coming sessions, the webinar page's share box (its link opens the registration
page), every section of the session page, the forms, the profile and the mailbox — each
checked by axe-core at 1280 and 390 px, with no script or CSP error on the way."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from tests import peers
from tests.e2e.look import assert_accessible, screenshot
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.helpers import ANTENNE, antenne_env, antenne_run, links_in

pytestmark = pytest.mark.e2e

DATA = textwrap.dedent(
    """
    from datetime import timedelta
    from django.utils import timezone
    from antenne.accounts.models import Team, User
    from antenne.events.models import Event, Session, Speaker
    from antenne.registrations.models import Registration

    admin = User.objects.get(email="cheffe@service.example")
    team = Team.objects.create(name="Mission Données", contact_email="d@service.example")
    start = timezone.now() + timedelta(days=1)
    event = Event.objects.create(
        title="Ouvrir les données des collectivités", team=team, owner=admin, published=True,
        description="Un webinaire pour les agents des collectivités.",
    )
    session = Session.objects.create(event=event, starts_at=start, capacity=200)
    session.animators.set([admin])
    Speaker.objects.create(
        session=session, email="ina@partenaire.example", name="Ina Vitée",
        title="Cheffe de projet", invited_at=timezone.now(), accepted_at=timezone.now(),
    )
    Speaker.objects.create(
        session=session, email="paul@partenaire.example", name="Paul Orateur",
        invited_at=timezone.now(),
    )
    for n in range(12):
        Registration.objects.create(
            session=session, email=f"p{n}@public.example", first_name=f"P{n}",
            last_name="Public", join_key=f"k{n:060d}",
        )
    from antenne.registrations.services import register
    register(session=session, email="ines@public.example", first_name="Inès",
             last_name="Martin", consent=True)
    draft = Event.objects.create(title="Atelier accessibilité", team=team, owner=admin)
    later = Session.objects.create(event=draft, starts_at=start + timedelta(days=6))
    later.animators.set([admin])
    print(event.pk, session.pk)
    """
)

SECTIONS = [
    ("", "overview"),
    ("speakers/", "speakers"),
    ("registrants/", "registrants"),
    ("emails/", "emails"),
    ("broadcast/", "broadcast"),
    ("settings/", "settings"),
]


def test_organiser_path_dashboard_share_link_and_session_sections(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import sync_playwright

    with antenne_run(tmp_path) as (_process, base, banner):
        [setup_link] = [u for u in links_in(banner) if "/setup/" in u]
        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(
                locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900}
            )
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            page = context.new_page()
            watch(page, problems)
            page.goto(setup_link)
            page.get_by_label("Votre adresse électronique").fill("cheffe@service.example")
            page.get_by_label("Votre nom").fill("Claire Cheffe")
            page.get_by_role("button", name="Devenir administrateur").click()
            page.wait_for_url(f"{base}/app/")
            env = antenne_env(tmp_path, ANTENNE_BASE_URL=base)
            event_id, session_id = subprocess.run(
                [*ANTENNE, "manage", "shell", "-c", DATA],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout.split()[-2:]

            # The dashboard: one's coming sessions above the admin's chores.
            page.goto(f"{base}/app/")
            mine = page.locator("#my-sessions + .fr-table")
            assert "Ouvrir les données des collectivités" in mine.inner_text()
            assert "13 / 200" in mine.inner_text()
            assert page.get_by_role("link", name="Créer un webinaire").is_visible()
            assert_accessible(page, "dashboard")
            screenshot(page, "dashboard", full_page=True)

            # The webinar page shares its registration page; the link opens it.
            page.goto(f"{base}/app/events/{event_id}/")
            share = page.locator("#share")
            assert share.is_visible()
            assert_accessible(page, "webinar page, published")
            copy = share.locator("button[data-copy=share-url]")
            copy.click()
            page.locator("#share-url-status").filter(has_text="copi").wait_for()
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied == f"{base}/e/{event_id}/"
            with context.expect_page() as opened:
                share.locator("#share-preview").click()
            public = opened.value
            public.wait_for_load_state()
            assert public.url == f"{base}/e/{event_id}/"
            assert "Ouvrir les données des collectivités" in public.locator("h1").inner_text()
            public.close()

            # Every section of the session page, scanned at a glance.
            for path, name in SECTIONS:
                page.goto(f"{base}/app/sessions/{session_id}/{path}")
                current = page.locator(".antenne-section-nav [aria-current=page]")
                assert current.count() == 1, name
                assert_accessible(page, f"session page, {name}")
                page.screenshot(path=str(tmp_path / f"section-{name}.png"), full_page=True)
                if name == "overview":
                    console = page.get_by_role("link", name="Ouvrir la console")
                    assert console.bounding_box()["width"] > 120  # its words, not an icon alone
                    screenshot(page, "session-page", full_page=True)
                    assert page.locator("#session-register-url").get_attribute("href") == (
                        f"{base}/e/{event_id}/"
                    )
            page.goto(f"{base}/app/events/{event_id}/sessions/new/")
            assert page.locator("#id_confirm_conflicts").count() == 1
            assert not page.locator("#id_confirm_conflicts").is_visible()
            assert_accessible(page, "session form")
            page.goto(f"{base}/app/events/{event_id}/edit/")
            assert_accessible(page, "webinar form")
            page.goto(f"{base}/app/profile/")
            assert_accessible(page, "profile")
            # The profile's time zone: type a city, the list follows.
            page.locator("#id_time_zone-search").fill("cayenne")
            assert page.locator("#id_time_zone").input_value() == "America/Cayenne"
            page.screenshot(path=str(tmp_path / "profile.png"), full_page=True)

            # The mailbox shows the confirmation as its recipient sees it, and its .ics.
            for _ in range(40):
                page.goto(f"{base}/app/mailbox/")
                mail = page.locator("a", has_text="Ouvrir les données des collectivités")
                if mail.count():
                    break
                page.wait_for_timeout(500)
            mail.first.click()
            frame = page.frame_locator("iframe.antenne-mail-frame")
            frame.locator("body").filter(has_text="Inès").wait_for()
            assert page.locator("#attachments + ul a").first.inner_text().endswith(".ics")
            assert_accessible(page, "mailbox message")
            page.screenshot(path=str(tmp_path / "mailbox-message.png"), full_page=True)

            # A phone: the sections wrap, nothing is clipped.
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{base}/app/sessions/{session_id}/")
            nav = page.locator(".antenne-section-nav__list")
            assert nav.evaluate("n => n.scrollWidth <= n.clientWidth")
            assert_accessible(page, "session page, 390 px")
            screenshot(page, "session-page-390", full_page=True)
            page.goto(f"{base}/app/")
            assert_accessible(page, "dashboard, 390 px")
            page.screenshot(path=str(tmp_path / "dashboard-390.png"), full_page=True)
            page.goto(f"{base}/app/events/{event_id}/")
            assert_accessible(page, "webinar page, 390 px")
            page.screenshot(path=str(tmp_path / "webinar-390.png"), full_page=True)

            # In English too.
            context.add_cookies([{"name": "django_language", "value": "en", "url": base}])
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{base}/app/sessions/{session_id}/")
            assert page.locator("html").get_attribute("lang") == "en"
            assert_accessible(page, "session page, English")
            page.screenshot(path=str(tmp_path / "session-page-en.png"), full_page=True)
            browser.close()
        assert not problems, problems
