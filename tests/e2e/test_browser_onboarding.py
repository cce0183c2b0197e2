"""A newcomer's first session, in headless Chromium against a real `antenne run`:
first admin from the printed link, an animator access request, its approval, and the new
animator logging in from the link in the mailbox. No CSP violation or script error allowed."""

from __future__ import annotations

import re
import time

import pytest

from tests import peers
from tests.helpers import antenne_run, links_in

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def antenne(tmp_path):
    with antenne_run(tmp_path) as (_process, base, banner):
        [setup_link] = [u for u in links_in(banner) if "/setup/" in u]
        yield base, setup_link


@pytest.fixture
def browser():
    chromium = peers.chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch(page, problems: list[str]) -> None:
    page.set_default_timeout(10_000)

    def on_console(message) -> None:
        # Invalid forms answer 422 on purpose; Chromium logs any 4xx document as an error.
        if message.type == "error" and "status of 422" not in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(str(e)))


def test_first_admin_request_approval_and_animator_login(antenne, browser):
    base, setup_link = antenne
    problems: list[str] = []
    admin = browser.new_context().new_page()
    watch(admin, problems)

    admin.goto(setup_link)
    assert admin.locator("html").get_attribute("lang") == "fr"
    admin.get_by_label("Votre adresse électronique").fill("cheffe@service.example")
    admin.get_by_label("Votre nom").fill("Claire Cheffe")
    admin.get_by_role("button", name="Devenir administrateur").click()
    admin.wait_for_url(f"{base}/app/")
    assert "Claire Cheffe" in admin.locator("h1").inner_text()

    # A future animator asks for access, in English, with a mistake first.
    visitor = browser.new_context().new_page()
    watch(visitor, problems)
    visitor.goto(f"{base}/access/request/")
    visitor.get_by_role("button", name="English").click()
    visitor.wait_for_load_state()
    assert visitor.locator("html").get_attribute("lang") == "en"
    visitor.get_by_label("Your workspace email address").fill("not-an-address")
    visitor.get_by_role("button", name="Send my request").click()
    summary = visitor.locator("#error-summary")
    assert summary.is_visible()
    assert summary.evaluate("node => node === document.activeElement")  # focus moved there
    assert "Your workspace email address" in summary.inner_text()
    visitor.get_by_label("Your workspace email address").fill("noe.animateur@service.example")
    visitor.get_by_label("Your name").fill("Noé Animateur")
    visitor.get_by_label(re.compile(r"Your team(?!')")).fill("Mission Données")
    visitor.get_by_label("Your team's contact email").fill("contact@donnees.example")
    visitor.get_by_label("Why do you need animator access?").fill("Webinaires mensuels.")
    visitor.get_by_role("button", name="Send my request").click()
    visitor.wait_for_url(f"{base}/access/request/sent/")

    # The admin sees it in the queue and approves it.
    admin.goto(f"{base}/app/")
    admin.get_by_role("link", name="Demandes d’accès").first.click()
    admin.get_by_role("link", name="Noé Animateur").click()
    admin.get_by_label("Message au demandeur").fill("Bienvenue !")
    admin.get_by_role("button", name="Approuver").click()
    admin.wait_for_url(f"{base}/app/access-requests/")
    assert "noe.animateur@service.example" in admin.locator(".fr-alert--success").inner_text()

    # The approval email lands in the mailbox (the worker runs inside `antenne run`), in
    # the language the requester used: English.
    login_link = None
    for _ in range(40):
        admin.goto(f"{base}/app/mailbox/")
        approval = admin.get_by_role("link", name="Your animator access to Antenne is approved")
        if approval.count():
            approval.first.click()
            login_link = admin.locator("a", has_text="/login/").first.get_attribute("href")
            break
        time.sleep(0.5)
    assert login_link is not None
    assert login_link.startswith(f"{base}/login/")

    animator = browser.new_context().new_page()
    watch(animator, problems)
    animator.goto(login_link)
    animator.get_by_role("button", name="Se connecter").click()
    animator.wait_for_url(f"{base}/app/")
    assert "Animateur" in animator.locator("header").inner_text()

    assert not problems, problems
