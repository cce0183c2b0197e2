"""axe-core on every page a person reaches outside the live room, in headless Chromium
against one real `antenne run`: the public pages (anonymous), then every back-office page as
an admin and as an animator, each at 1280 px and at 390 px, with zero violations (WCAG 2.1 A
and AA plus axe's best practices, tests/e2e/look.py) and no CSP violation or script error.

The workspace is realistic: the demo (teams, members, access requests, webinars with
speakers, a mailbox) plus an upcoming session with 60 registrants and a message, a live
session, and an ended one with attendance, chat, questions, a follow-up and an export.

Every URL name of the site has a place here: walked (`WALK`), not a page (`NOT_PAGES`), or
checked by another browser test (`ELSEWHERE`); a new back-office or public page without one
fails `test_every_page_is_walked_or_excused`, like tests/test_permission_matrix.py.

To walk some pages only while fixing them: ANTENNE_AXE_PAGES=control:events,public:login."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests import peers
from tests.e2e.look import assert_accessible
from tests.e2e.test_browser_onboarding import CHROMIUM_ARGS
from tests.helpers import ANTENNE, antenne_env, antenne_run, links_in

# The first visitor comes before the workspace has an admin (the setup link's page).
FIRST, ANONYMOUS, ADMIN, ANIMATOR = "first visitor", "anonymous", "admin", "animator"
BOTH = (ADMIN, ANIMATOR)
# A page loads at a phone's width, is checked, then is checked again in a desktop window.
PHONE, DESKTOP = 390, 1280
WIDTHS = (PHONE, DESKTOP)
HEIGHTS = {PHONE: 844, DESKTOP: 900}


@dataclass(frozen=True)
class State:
    """One state of a page: its name, its path (from the workspace's ids), who sees it, the
    status it answers, and what the person does on the page before axe-core looks."""

    name: str
    path: Callable[[dict[str, Any]], str]
    roles: tuple[str, ...] = BOTH
    status: int = 200
    # What the person does before axe-core looks; a new page's response if it sends a form.
    act: Callable[[Any], Any] | None = None
    widths: tuple[int, ...] = WIDTHS


def _fill(**fields: str) -> Callable[[Any], Any]:
    """Fill the page's main form with `fields` (by name), then send it."""

    def act(page: Any) -> Any:
        for name, value in fields.items():
            page.locator(f"#content form[method=post] [name={name}]").last.fill(value)
        return _submit(page)

    return act


def _submit(page: Any) -> Any:
    """Send the page's main form as it is (empty: the form's errors), bypassing the
    browser's own checks so that the server's answer is what is seen."""
    form = page.locator("#content form[method=post]").last
    form.evaluate("form => form.setAttribute('novalidate', '')")
    with page.expect_navigation() as navigation:
        form.locator("[type=submit]").last.click()
    return navigation.value


def _open_menu(page: Any) -> None:
    """On a phone the header's menu is a dialog behind the "Menu" button: open it from the
    keyboard (a mouse would rest on the close button, in its hover colours)."""
    page.locator("#button-menu").press("Enter")
    page.locator("#modal-menu.fr-modal--opened").wait_for()


IMPORT = (
    "courriel;prenom;nom\n"
    "nina.nouvelle@public.example;Nina;Nouvelle\n"
    "inscrit0@public.example;Alix;Durand-0\n"
    "pas-une-adresse;Paul;Erreur\n"
    "claire.admin@demo.antenne.example;Claire;Lefèvre\n"
)


def _preview_import(page: Any) -> Any:
    """Upload a CSV file with rows to import and rows skipped (each with its status)."""
    page.locator("#content input[type=file]").set_input_files(
        {"name": "inscrits.csv", "mimeType": "text/csv", "buffer": IMPORT.encode()}
    )
    with page.expect_navigation() as navigation:
        page.locator("#content form[enctype] [type=submit]").click()
    return navigation.value


def _import(d: dict[str, Any]) -> str:
    return f"/app/sessions/{d['upcoming']}/registrants/import/"


def _session(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda d: f"/app/sessions/{d[key]}/"


# URL name -> the states walked. The back office's pages are walked with the upcoming
# session (scheduled, registrants, reminders), the live one and the ended one (a report).
WALK: dict[str, list[State]] = {
    "public:home": [
        State("home", lambda d: "/", (ANONYMOUS,)),
        State("home, menu open", lambda d: "/", (ANONYMOUS,), act=_open_menu, widths=(PHONE,)),
    ],
    "public:login": [
        State("login", lambda d: "/login/", (ANONYMOUS,)),
        State("login, empty form sent", lambda d: "/login/", (ANONYMOUS,), 422, _submit),
    ],
    "public:login_sent": [State("login link sent", lambda d: "/login/sent/", (ANONYMOUS,))],
    "public:login_confirm": [
        State("login confirmation", lambda d: "/login/not-a-token/", (ANONYMOUS,)),
        State("login link invalid", lambda d: "/login/not-a-token/", (ANONYMOUS,), 400, _submit),
    ],
    "public:setup": [
        State("first admin setup", lambda d: d["setup"], (FIRST,)),
        State("setup link invalid", lambda d: "/setup/not-a-token/", (ANONYMOUS,), 400),
    ],
    "public:access_request": [
        State("access request", lambda d: "/access/request/", (ANONYMOUS,)),
        State("access request, errors", lambda d: "/access/request/", (ANONYMOUS,), 422, _submit),
    ],
    "public:access_request_sent": [
        State("access request sent", lambda d: "/access/request/sent/", (ANONYMOUS,))
    ],
    "public:access_request_update": [
        State("access request update", lambda d: d["request_update"], (ANONYMOUS,)),
        State("access request updated", lambda d: d["request_update"], (ANONYMOUS,), act=_submit),
        State("update link invalid", lambda d: "/access/request/update/x/", (ANONYMOUS,), 400),
    ],
    "public:speaker": [
        State("speaker's page", lambda d: d["speaker"], (ANONYMOUS,)),
        State("speaker's page, confirmed", lambda d: d["speaker"], (ANONYMOUS,), act=_submit),
        State("speaker link invalid", lambda d: "/speaker/not-a-token/", (ANONYMOUS,), 403),
    ],
    "public:unsubscribe": [
        State("unsubscribe", lambda d: d["unsubscribe"], (ANONYMOUS,)),
        State("unsubscribed", lambda d: d["unsubscribe"], (ANONYMOUS,), act=_submit),
    ],
    "public:lost_link": [State("lost link", lambda d: f"/e/{d['published']}/lost/", (ANONYMOUS,))],
    "public:lost_link_sent": [
        State("lost link sent", lambda d: f"/e/{d['published']}/lost/sent/", (ANONYMOUS,))
    ],
    # The error pages, from the handlers of antenne/urls.py.
    "<errors>": [
        State("404", lambda d: "/nowhere/", (ANONYMOUS, ADMIN), 404),
        State("403", lambda d: "/app/members/", (ANIMATOR,), 403),
    ],
    "control:dashboard": [
        State("dashboard", lambda d: "/app/"),
        State("dashboard, menu open", lambda d: "/app/", act=_open_menu, widths=(PHONE,)),
    ],
    "control:events": [State("webinars", lambda d: "/app/events/")],
    "control:event_new": [
        State("new webinar", lambda d: "/app/events/new/"),
        State("new webinar, errors", lambda d: "/app/events/new/", status=422, act=_submit),
    ],
    "control:event": [State("webinar", lambda d: f"/app/events/{d['event']}/")],
    "control:event_edit": [State("webinar form", lambda d: f"/app/events/{d['event']}/edit/")],
    "control:session_new": [
        State("new session", lambda d: f"/app/events/{d['event']}/sessions/new/")
    ],
    "control:session": [
        State("session, scheduled", _session("upcoming")),
        State("session, live", _session("live")),
        State("session, ended", _session("ended")),
    ],
    "control:session_speakers": [
        State("speakers, scheduled", lambda d: f"/app/sessions/{d['upcoming']}/speakers/")
    ],
    "control:session_live": [
        State("broadcast, scheduled", lambda d: f"/app/sessions/{d['upcoming']}/broadcast/"),
        State("broadcast, live", lambda d: f"/app/sessions/{d['live']}/broadcast/"),
    ],
    "control:session_settings": [
        State("settings, scheduled", lambda d: f"/app/sessions/{d['upcoming']}/settings/")
    ],
    "control:session_broadcast": [
        State("start, too early", lambda d: f"/app/sessions/{d['upcoming']}/broadcast/start/"),
        State("end the broadcast", lambda d: f"/app/sessions/{d['live']}/broadcast/end/"),
    ],
    "control:session_emails": [
        State("emails, scheduled", lambda d: f"/app/sessions/{d['upcoming']}/emails/"),
        State("emails, ended", lambda d: f"/app/sessions/{d['ended']}/emails/"),
    ],
    "control:session_email_log": [
        State("email log", lambda d: f"/app/sessions/{d['upcoming']}/emails/log/")
    ],
    "control:session_text": [
        State("session email text", lambda d: f"/app/sessions/{d['upcoming']}/texts/reminder/fr/")
    ],
    "control:campaign": [
        State("message, draft", lambda d: f"/app/messages/{d['message']}/"),
        State("follow-up, draft", lambda d: f"/app/messages/{d['followup']}/"),
        State("message, approved", lambda d: f"/app/messages/{d['approved_message']}/"),
    ],
    "control:workspace_texts": [State("email texts", lambda d: "/app/email-texts/", (ADMIN,))],
    "control:workspace_text": [
        State("email text", lambda d: "/app/email-texts/followup_attendees/en/", (ADMIN,))
    ],
    "control:registrants": [
        State("registrants", lambda d: f"/app/sessions/{d['upcoming']}/registrants/"),
        State(
            "registrants, page 2",
            lambda d: f"/app/sessions/{d['upcoming']}/registrants/?page=2",
        ),
    ],
    "control:registrants_import": [
        State("import", _import),
        State("import, no file sent", _import, status=422, act=_submit),
        State("import, preview", _import, act=_preview_import),
    ],
    "control:registrant_delete": [
        State("delete a registrant", lambda d: f"/app/registrations/{d['registration']}/delete/")
    ],
    "control:workspace_report": [State("workspace report", lambda d: "/app/reports/", (ADMIN,))],
    "control:event_report": [
        State("webinar report", lambda d: f"/app/events/{d['ended_event']}/report/")
    ],
    "control:session_report": [
        State("session report", lambda d: f"/app/sessions/{d['ended']}/report/")
    ],
    "control:calendar": [
        State("calendar, week", lambda d: "/app/calendar/"),
        State("calendar, month", lambda d: "/app/calendar/?view=month"),
    ],
    "control:calendar_feed": [State("calendar feed", lambda d: "/app/calendar/feed/")],
    "control:profile": [State("profile", lambda d: "/app/profile/")],
    "control:tokens": [
        State("API tokens", lambda d: "/app/tokens/"),
        State("API tokens, a new one shown", lambda d: "/app/tokens/", act=_fill(name="Script")),
    ],
    "control:teams": [
        State("teams", lambda d: "/app/teams/"),
        State("teams, errors", lambda d: "/app/teams/", (ADMIN,), 422, _submit),
    ],
    "control:team": [State("team", lambda d: f"/app/teams/{d['team']}/", (ADMIN,))],
    "control:members": [
        State("members", lambda d: "/app/members/", (ADMIN,)),
        State("members, errors", lambda d: "/app/members/", (ADMIN,), 422, _submit),
    ],
    "control:member": [State("member", lambda d: f"/app/members/{d['member']}/", (ADMIN,))],
    "control:access_requests": [
        State("access requests", lambda d: "/app/access-requests/", (ADMIN,)),
        State("access requests, decided", lambda d: "/app/access-requests/?status=", (ADMIN,)),
    ],
    "control:access_request": [
        State("request, pending", lambda d: f"/app/access-requests/{d['pending']}/", (ADMIN,)),
        State("request, approved", lambda d: f"/app/access-requests/{d['approved']}/", (ADMIN,)),
    ],
    "control:audit": [State("audit log", lambda d: "/app/audit/", (ADMIN,))],
    "control:mailbox": [State("mailbox", lambda d: "/app/mailbox/", (ADMIN,))],
    "control:mailbox_message": [
        State("mailbox message", lambda d: f"/app/mailbox/{d['mail']}/", (ADMIN,))
    ],
}

# Not pages: a form's POST target (its answer is a redirect to a page walked above), a
# file, JSON, a redirect.
NOT_PAGES = {
    "public:logout": "POST, back to the home page",
    "public:join_ics": "a calendar file",
    "public:session_ics": "a calendar file",
    "public:event_cover": "an image",
    "public:calendar_feed": "a calendar feed",
    "control:event_publish": "POST",
    "control:event_cancel": "POST",
    "control:event_cover": "an image",
    "control:question_add": "POST, back to the webinar page",
    "control:question_remove": "POST",
    "control:session_reschedule": "POST, back to the session page (errors included)",
    "control:session_team": "POST, back to the session page (errors included)",
    "control:session_test_run": "POST",
    "control:session_cancel": "POST",
    "control:speaker_action": "POST",
    "control:reminder_add": "POST, back to the session page (errors included)",
    "control:reminder_action": "POST",
    "control:followup_rules": "POST, back to the emails page",
    "control:session_replay": "POST, back to the emails page",
    "control:campaign_new": "POST, on to the new message's page",
    "control:campaign_action": "POST, back to the message's page",
    "control:registrants_export": "a CSV file",
    "control:registrant_revoke": "POST",
    "control:session_export": "POST, back to the report",
    "control:export_status": "JSON",
    "control:mailbox_html": "an email's HTML, framed in the mailbox message's page",
    "control:mailbox_attachment": "a file",
    "control:export_download": "a file",
    "control:calendar_feed_reset": "POST, back to the feed page",
    "control:token_revoke": "POST",
    "healthz": "plain text",
    "set_language": "POST, back to the page",
}

# Pages checked with axe-core by the browser test of their own part (issue 17).
ELSEWHERE = {
    "public:join": "tests/e2e/test_browser_registration.py (before the room opens)",
    "public:room": "tests/e2e/test_room.py (room before, live, ended; 1280 and 390 px)",
    "public:register": "tests/e2e/test_browser_registration.py (registration and embed)",
    "public:registered": "tests/e2e/test_browser_registration.py",
    "control:session_console": "tests/e2e/test_console.py (console before and live)",
    "public:speaker_room": "tests/e2e/test_console.py (the speaker's console)",
}

# Namespaces that serve no HTML page: the REST API (JSON) and the media signalling.
NOT_HTML_NAMESPACES = ("api-1:", "media-")


def _names(patterns: list[Any], prefix: str = "") -> list[str]:
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names += _names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern):
            names.append(f"{prefix}{pattern.name}" if pattern.name else f"{prefix}<unnamed>")
    return names


def test_every_page_is_walked_or_excused():
    names = {
        n for n in _names(get_resolver().url_patterns) if not n.startswith(NOT_HTML_NAMESPACES)
    }
    listed = [*WALK, *NOT_PAGES, *ELSEWHERE]
    missing = sorted(names - set(listed))
    assert not missing, f"walk these pages in WALK (or say why not in NOT_PAGES): {missing}"
    stale = sorted(set(listed) - names - {"<errors>"})
    assert not stale, f"these entries name no URL any more: {stale}"
    assert len(listed) == len(set(listed)), "a URL name is listed twice"


DATA = textwrap.dedent(
    """
    import json, secrets
    from datetime import timedelta
    from django.core import signing
    from django.utils import timezone
    from antenne.accounts import access_requests, services as accounts
    from antenne.accounts.models import AccessRequest, Team, User, hash_secret
    from antenne.analytics.models import Export
    from antenne.demo import fill_demo
    from antenne.events import services as events
    from antenne.events.models import Session
    from antenne.mailing import campaigns, unsubscribe
    from antenne.registrations.models import Registration
    from antenne.rooms.models import ChatMessage, Presence, Question

    fill_demo()
    admin = User.objects.get(email="claire.admin@demo.antenne.example")
    animator = User.objects.get(email="camille.martin@demo.antenne.example")
    upcoming = Session.objects.filter(event__owner=animator).order_by("starts_at").first()
    upcoming.event.published = True
    upcoming.event.save(update_fields=["published"])
    names = ["Alix", "Bertrand", "Chloé", "Dominique", "Élodie", "Farid"]
    for n in range(60):
        Registration.objects.create(
            session=upcoming, email=f"inscrit{n}@public.example", first_name=names[n % 6],
            last_name=f"Durand-{n}", join_key=secrets.token_urlsafe(32),
            status="waitlisted" if n % 13 == 12 else "confirmed",
            consent_at=timezone.now(), source="public" if n % 3 else "import",
        )
    registration = upcoming.registrations.first()

    def webinar(title, start, state):
        event = events.create_event(actor=animator, title=title, team=animator.team,
                                    description="Un webinaire de test d'accessibilité.")
        session = Session.objects.create(
            event=event, starts_at=start, time_zone="Europe/Paris", state=state,
            started_at=start, ended_at=start + timedelta(minutes=60) if state == "ended" else None,
        )
        session.animators.set([animator])
        return session

    now = timezone.now()
    live = webinar("Permanence numérique en direct", now - timedelta(minutes=10), "live")
    ended = webinar("Budget 2027 : les arbitrages", now - timedelta(hours=3), "ended")
    for n in range(30):
        r = Registration.objects.create(
            session=ended, email=f"p{n}@public.example", first_name=names[n % 6],
            last_name="Public", join_key=secrets.token_urlsafe(32), consent_at=now,
            utm={"utm_source": ["lettre", "site", "x"][n % 3]},
        )
        if n % 4:
            Presence.objects.create(
                session=ended, registration=r, joined_at=ended.starts_at + timedelta(minutes=n % 7),
                left_at=ended.starts_at + timedelta(minutes=20 + n),
            )
        if n % 5 == 0:
            ChatMessage.objects.create(session=ended, registration=r, author_name=r.first_name,
                                       role="attendee", text="Bonjour à tous")
    Question.objects.create(session=ended, author_name="Chloé", text="Et ensuite ?", votes=3)
    Export.objects.create(session=ended, format="csv", state="done", file_name="none.zip")
    followup = campaigns.create_campaign(actor=animator, session=ended, audience="attendees",
                                         is_followup=True)
    message = campaigns.create_campaign(actor=animator, session=upcoming, audience="registered")
    approved = campaigns.create_campaign(actor=animator, session=ended, audience="registered")
    for flag in campaigns.unconfirmed_flags(approved):
        campaigns.confirm_flag(actor=animator, campaign=approved, flag_id=flag.id)
    campaigns.approve(actor=animator, campaign=approved,
                      expected_count=campaigns.segment_queryset(ended, "registered").count())
    accounts.create_api_token(actor=admin, user=admin, name="Tableau de bord")
    accounts.create_api_token(actor=animator, user=animator, name="Synchronisation")
    speaker = upcoming.speakers.first()
    raw = secrets.token_urlsafe(32)
    speaker.token_hash = hash_secret(raw)
    speaker.save(update_fields=["token_hash"])
    pending = AccessRequest.objects.filter(status="pending").order_by("pk").first()
    update = signing.dumps(
        {"id": pending.pk, "fields": {"full_name": pending.full_name, "team_name": "Autre",
                                      "team_contact_email": pending.team_contact_email,
                                      "reason": "Une raison plus précise.", "language": "fr"}},
        salt=access_requests.UPDATE_SALT, compress=True,
    )
    print(json.dumps({
        "admin_login": accounts.issue_login_url(user=admin),
        "animator_login": accounts.issue_login_url(user=animator),
        "event": upcoming.event_id, "published": upcoming.event_id, "upcoming": upcoming.pk,
        "live": live.pk, "ended": ended.pk, "ended_event": ended.event_id,
        "registration": registration.pk, "message": message.pk, "followup": followup.pk,
        "approved_message": approved.pk,
        "team": animator.team_id,
        "member": User.objects.get(email="ines.moreau@demo.antenne.example").pk,
        "pending": pending.pk,
        "approved": AccessRequest.objects.filter(status="approved").first().pk,
        "speaker": f"/speaker/{raw}/",
        "unsubscribe": f"/u/{unsubscribe.unsubscribe_token(registration)}/",
        "request_update": f"/access/request/update/{update}/",
    }))
    """
)


def _workspace(base: str, data_dir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [*ANTENNE, "manage", "shell", "-c", DATA],
        env=antenne_env(data_dir, ANTENNE_BASE_URL=base),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])  # the shell's banner comes first
    deadline = time.monotonic() + 30  # the server's worker delivers to the mailbox
    while time.monotonic() < deadline and "mail" not in data:
        with closing(sqlite3.connect(data_dir / "antenne.sqlite3")) as db:
            row = db.execute("SELECT min(id) FROM mailing_mailboxmessage").fetchone()
        if row[0]:
            data["mail"] = row[0]
        time.sleep(0.3)
    return data


FRAMES = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
# axe-core's landmark-unique rule does not see a landmark inside one of the same role (a
# screen reader announces both): this finds them.
NESTED_LANDMARKS = """[...document.querySelectorAll(
  "[role=search] [role=search], [role=search] form[role=search], nav nav,"
  + " [role=navigation] [role=navigation], main main, [role=region] [role=region]"
)].map(e => e.outerHTML.slice(0, 80))"""


def _check(page: Any, label: str, found: list[str]) -> None:
    try:
        assert_accessible(page, label)
    except AssertionError as error:
        found.append(str(error))
    for nested in page.evaluate(NESTED_LANDMARKS):
        found.append(f"{label}: a landmark inside a landmark of the same role: {nested}")


def _walk(page: Any, base: str, role: str, data: dict[str, Any], found: list[str]) -> int:
    """Every state of `role` at each of its widths; what is wrong goes to `found`. Returns
    how many (state, width) pairs were checked."""
    if role in (ADMIN, ANIMATOR):
        page.goto(data[f"{role}_login"])
        with page.expect_navigation():
            page.locator("#content form button[type=submit]").click()
    only = [name for name in os.environ.get("ANTENNE_AXE_PAGES", "").split(",") if name]
    walked = [states for name, states in WALK.items() if not only or name in only]
    checked = 0
    for state in (s for states in walked for s in states if role in s.roles):
        for n, width in enumerate(state.widths):
            label = f"{state.name}, {role}, {width} px"
            if page.viewport_size["width"] != width:
                page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
            if n == 0:
                response = page.goto(base + state.path(data))
                if state.act:
                    response = state.act(page) or response
                if response.status != state.status:
                    found.append(f"{label}: answered {response.status}, not {state.status}")
            else:  # the page's scripts (DSFR, tables.js) follow the new width first
                page.evaluate(FRAMES)
            _check(page, label, found)
            checked += 1
    return checked


def _browse(base: str, roles: tuple[str, ...], data: dict[str, Any], found: list[str]) -> int:
    """The walks of `roles`, one after the other, in a browser of their own (each role in
    a fresh context: its own cookies); script errors and CSP violations go to `found`."""
    from playwright.sync_api import sync_playwright

    checked = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=peers.chromium(), args=CHROMIUM_ARGS)
        try:
            for role in roles:
                page = browser.new_page(viewport={"width": PHONE, "height": HEIGHTS[PHONE]})
                page.set_default_timeout(10_000)
                page.on("pageerror", lambda e, r=role: found.append(f"{r}: script error: {e}"))
                page.on(
                    "console",
                    lambda m, r=role: (
                        m.type == "error"  # a 4xx page is logged as one: it is walked on purpose
                        and "status of" not in m.text
                        and found.append(f"{r}: console error: {m.text}")
                    ),
                )
                checked += _walk(page, base, role, data, found)
                page.context.close()
        finally:
            browser.close()
    return checked


@pytest.mark.e2e
def test_every_page_has_no_axe_violation(tmp_path):
    peers.chromium()  # skips when Chromium is missing
    with antenne_run(tmp_path) as (_process, base, banner):
        [setup_link] = [u for u in links_in(banner) if "/setup/" in u]
        found: list[str] = []
        # The first admin's setup page exists only before the workspace has an admin.
        setup = {"setup": setup_link.removeprefix(base)}
        checked = _browse(base, (FIRST,), setup, found)
        data = {**setup, **_workspace(base, tmp_path)}
        # Two browsers side by side (axe-core keeps one core busy): the admin's walk, and
        # the anonymous visitor's then the animator's.
        with ThreadPoolExecutor(max_workers=2) as pool:
            walks = [
                pool.submit(_browse, base, roles, data, found)
                for roles in ((ADMIN,), (ANONYMOUS, ANIMATOR))
            ]
            checked += sum(walk.result() for walk in walks)
    assert not found, f"{len(found)} problems in {checked} page states:\n" + "\n\n".join(found)
