"""An admin opens an ended session's report in headless Chromium against a real
`antenne run`: figures, the charts (SVG with a text alternative, no script needed), then an
XLSX export prepared by the in-process worker while the page shows its progress, downloaded
and read back — with no script or CSP error on the way."""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest
from openpyxl import load_workbook

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
    from antenne.events.models import Event, Session
    from antenne.registrations.models import Registration
    from antenne.rooms.models import ChatMessage, Presence, Question

    admin = User.objects.get(email="cheffe@service.example")
    team = Team.objects.create(name="Mission Données", contact_email="d@service.example")
    start = timezone.now() - timedelta(hours=2)
    event = Event.objects.create(title="Budget 2027", team=team, owner=admin, published=True)
    session = Session.objects.create(
        event=event, starts_at=start, state="ended", started_at=start,
        ended_at=start + timedelta(minutes=60),
    )
    session.animators.set([admin])
    for n in range(40):
        r = Registration.objects.create(
            session=session, email=f"p{n}@public.example", first_name=f"P{n}",
            last_name="=HYPERLINK(1)" if n == 0 else "Public", join_key=f"k{n:060d}",
            utm={"utm_source": ["lettre", "site", "x"][n % 3]},
        )
        if n % 4:
            Presence.objects.create(
                session=session, registration=r, joined_at=start + timedelta(minutes=n % 7),
                left_at=start + timedelta(minutes=20 + n),
            )
        if n % 5 == 0:
            ChatMessage.objects.create(
                session=session, registration=r, author_name=f"P{n}", role="attendee",
                text="Bonjour",
            )
    Question.objects.create(session=session, author_name="P1", text="Et ensuite ?", votes=3)
    print(session.pk)
    """
)


def test_report_charts_and_an_export_downloaded(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import sync_playwright

    with antenne_run(tmp_path) as (_process, base, banner):
        [setup_link] = [u for u in links_in(banner) if "/setup/" in u]
        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_context(
                accept_downloads=True, viewport={"width": 1280, "height": 900}
            ).new_page()
            watch(page, problems)
            page.goto(setup_link)
            page.get_by_label("Votre adresse électronique").fill("cheffe@service.example")
            page.get_by_label("Votre nom").fill("Claire Cheffe")
            page.get_by_role("button", name="Devenir administrateur").click()
            page.wait_for_url(f"{base}/app/")

            env = antenne_env(tmp_path, ANTENNE_BASE_URL=base)
            session_id = subprocess.run(
                [*ANTENNE, "manage", "shell", "-c", DATA],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout.split()[-1]  # the shell's banner comes first

            page.goto(f"{base}/app/sessions/{session_id}/report/")
            viewers = page.locator("svg[role=img]").first
            assert viewers.is_visible()
            assert viewers.locator("title").text_content()
            assert "30" in page.locator(".antenne-figures").inner_text()  # attendees
            assert_accessible(page, "session report, 1280 px")
            screenshot(page, "report", full_page=True)
            page.locator("details summary").first.click()
            assert page.locator("details table").first.is_visible()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            if os.environ.get("ANTENNE_REPORT_SCREENSHOT"):
                page.screenshot(path=os.environ["ANTENNE_REPORT_SCREENSHOT"], full_page=True)

            page.locator("label[for=export-format-xlsx]").click()
            page.get_by_role("button", name="Prepare an export").or_(
                page.get_by_role("button", name="Préparer un export")
            ).click()
            # The page follows the export (export-progress.js) and reloads when it is done.
            link = page.locator("a[href$='/download/']").first
            link.wait_for(timeout=30_000)
            with page.expect_download() as download:
                link.click()
            path = tmp_path / "export.xlsx"
            download.value.save_as(path)
            browser.close()
        book = load_workbook(path)
        assert book.sheetnames[0] == "Inscrits"  # the page's language: French
        registrants = list(book["Inscrits"].iter_rows(values_only=True))
        assert len(registrants) == 41
        assert registrants[1][3] == "'=HYPERLINK(1)"
        assert not problems, problems
