"""An animator prepares a webinar in headless Chromium against a real `antenne run`: creates
it, picks a slot next to another session (confirming the warning), invites a guest speaker,
and the guest opens the green-room link from the email and confirms."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import peers
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS, watch
from tests.helpers import ANTENNE, antenne_env, antenne_run, links_in

pytestmark = pytest.mark.e2e


def test_animator_schedules_a_webinar_and_a_guest_speaker_confirms(tmp_path):
    chromium = peers.chromium()
    from playwright.sync_api import sync_playwright

    with antenne_run(tmp_path) as (_process, base, _banner):
        env = antenne_env(tmp_path, ANTENNE_BASE_URL=base)
        subprocess.run([*ANTENNE, "demo"], env=env, check=True, capture_output=True, timeout=120)
        created = subprocess.run(
            [*ANTENNE, "admin", "create", "--email", "camille.martin@demo.antenne.example"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        [login_link] = links_in(created.stdout)
        # The demo has a session tomorrow 10:00–11:00 (Paris); take 11:15 the same day.
        paris_today = datetime.now(ZoneInfo("Europe/Paris")).date()
        tomorrow = (paris_today + timedelta(days=1)).isoformat()
        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris").new_page()
            watch(page, problems)
            page.goto(login_link)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(f"{base}/app/")

            page.get_by_role("link", name="Webinaires", exact=True).first.click()
            page.get_by_role("link", name="Créer un webinaire").click()
            page.get_by_label("Titre").fill("Les données au service des usagers")
            page.get_by_role("button", name="Créer le webinaire").click()
            page.wait_for_url("**/sessions/new/")

            page.locator("#id_date").fill(tomorrow)
            page.locator("#id_time").fill("11:15")
            page.get_by_role("button", name="Programmer la session").click()
            warning = page.locator(".fr-alert--warning")
            assert "Ouvrir les données des collectivités" in warning.inner_text()
            page.locator("#id_confirm_conflicts").check(force=True)
            page.get_by_role("button", name="Programmer la session").click()
            page.wait_for_url("**/app/sessions/*/")
            assert "11:15" in page.locator("main").inner_text()

            page.locator(".antenne-section-nav").get_by_role("link", name="Intervenants").click()
            page.wait_for_url("**/app/sessions/*/speakers/")
            page.locator("#id_speaker-email").fill("invitee@partenaire.example")
            page.locator("#id_speaker-name").fill("Ina Vitée")
            page.get_by_role("button", name="Envoyer l’invitation").click()
            page.locator(".fr-alert--success").first.wait_for()
            assert "Ina Vitée" in page.locator("#speakers ~ .fr-table").first.inner_text()
            session_url = page.url

            # The invitation reaches the mailbox (worker inside `antenne run`); open it.
            admin_link = subprocess.run(
                [*ANTENNE, "admin", "create", "--email", "claire.admin@demo.antenne.example"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
            [claire] = links_in(admin_link)
            reader = browser.new_context().new_page()
            reader.goto(claire)
            reader.get_by_role("button", name="Se connecter").click()
            speaker_link = None
            for _ in range(40):
                reader.goto(f"{base}/app/mailbox/")
                invitation = reader.get_by_role("link", name="Les données au service des usagers")
                if invitation.count():
                    invitation.first.click()
                    speaker_link = reader.locator("a", has_text="/speaker/").first.get_attribute(
                        "href"
                    )
                    break
                reader.wait_for_timeout(500)
            assert speaker_link is not None

            guest = browser.new_context().new_page()
            watch(guest, problems)
            guest.goto(speaker_link)
            assert "Les données au service des usagers" in guest.locator("h1").inner_text()
            guest.get_by_role("button", name="Je confirme mon intervention").click()
            guest.locator(".fr-alert--success").first.wait_for()
            page.goto(session_url)
            assert "a accepté" in page.locator("#speakers ~ .fr-table").first.inner_text().lower()
            browser.close()
        assert not problems, problems
