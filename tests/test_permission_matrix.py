"""Every URL × every role has an explicit expected answer; a new URL without one fails here.

Roles: anonymous, member, animator, admin, and the animator of another session of the
webinar under test (`co-animator`: what reaches every session of a webinar is its owner's
and admins' only, issue 16 §1). Attendee identities (join links) arrive with
registration and will be added to ROLES then; Antenne has one workspace per installation, so
there is no "admin of another workspace"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from antenne.accounts import services
from antenne.analytics.models import Export
from antenne.core.permissions import Role
from antenne.events.models import Speaker
from antenne.mailing.models import Campaign, Reminder
from antenne.outbox.models import MailboxMessage
from antenne.registrations.models import RegistrationField
from tests.factories import (
    AccessRequestFactory,
    EventFactory,
    RegistrationFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
)

ROLES = ("anonymous", "member", "animator", "admin", "co-animator")
A, M, N, D, C = ROLES  # short names for the table

# name -> (method, path builder, {role: status}); "*" is every role not listed.
Row = tuple[str, Callable[[dict[str, Any]], str], dict[str, int]]
LOGGED_IN_REDIRECT = {A: 200, "*": 302}
BACK_OFFICE_ALL = {A: 302, "*": 200}
BACK_OFFICE_ADMIN = {A: 302, M: 403, N: 403, C: 403, D: 200}
API_ANY = {A: 401, "*": 200}
MANAGE_POST = {A: 302, M: 403, N: 403, C: 403, D: 302}
API_ADMIN = {A: 401, M: 403, N: 403, C: 403, D: 200}
# Writes to a webinar the animator under test neither owns nor runs; the co-animator runs
# another of its sessions, not this one, and does not own the webinar.
API_MANAGE = {A: 401, M: 403, N: 403, C: 403, D: 200}
API_MANAGE_CREATE = {A: 401, M: 403, N: 403, C: 403, D: 201}

MEDIA = {A: 401, M: 403, N: 403, C: 403, D: 403}

DRAFT_CONTENT = {
    language: {"subject": "{event_title}", "body": "Bonjour {first_name}"}
    for language in ("fr", "en")
}

MATRIX: dict[str, Row] = {
    "healthz": ("get", lambda o: "/healthz", {"*": 200}),
    # Media endpoints take the media token of a room connection, never a cookie nor an API
    # token: without one 401, with an API token 403 (tests/live/test_stage_media.py covers
    # the holders of media tokens).
    "media-feeds": ("post", lambda o: f"/media/sessions/{o['session'].pk}/feeds", MEDIA),
    "media-feed": ("delete", lambda o: f"/media/sessions/{o['session'].pk}/feeds/1", MEDIA),
    "media-subscriptions": (
        "post",
        lambda o: f"/media/sessions/{o['session'].pk}/subscriptions",
        MEDIA,
    ),
    "media-subscription": (
        "delete",
        lambda o: f"/media/sessions/{o['session'].pk}/subscriptions/x",
        MEDIA,
    ),
    # Janus's event handler only, with its own secret; the tests run the embedded engine.
    "media-janus-events": ("post", lambda o: "/media/janus/events", {"*": 404}),
    "set_language": ("get", lambda o: "/i18n/setlang/", {"*": 302}),
    "public:home": ("get", lambda o: "/", LOGGED_IN_REDIRECT),
    "public:login": ("get", lambda o: "/login/", LOGGED_IN_REDIRECT),
    "public:login_sent": ("get", lambda o: "/login/sent/", {"*": 200}),
    "public:login_confirm": ("get", lambda o: "/login/sometoken/", {"*": 200}),
    "public:logout": ("get", lambda o: "/logout/", {"*": 405}),
    "public:setup": ("get", lambda o: "/setup/notatoken/", {"*": 400}),
    "public:access_request": ("get", lambda o: "/access/request/", {"*": 200}),
    "public:speaker": ("get", lambda o: "/speaker/notatoken/", {"*": 403}),
    # The speaker's console: the link is its only credential (a back-office login changes
    # nothing); tests/control/test_console_page.py covers valid and revoked links.
    "public:speaker_room": ("get", lambda o: "/speaker/notatoken/room/", {"*": 403}),
    "public:join": ("get", lambda o: "/join/notakey/", {"*": 404}),
    "public:join_ics": ("get", lambda o: "/join/notakey/calendar.ics", {"*": 404}),
    # The room page: the join key is its only credential (a back-office login changes
    # nothing); tests/public/test_room_page.py covers valid keys.
    "public:room": ("get", lambda o: "/join/notakey/room/", {"*": 404}),
    # The feed's token is its only credential: a session cookie changes nothing.
    "public:calendar_feed": ("get", lambda o: "/calendar/notatoken.ics", {"*": 404}),
    # One-click unsubscribe (GET shows a button, POST unsubscribes): the token only counts.
    "public:unsubscribe": ("post", lambda o: "/u/notatoken/", {"*": 404}),
    # The registration page of a published webinar is public; the confirmation page needs a
    # registration made in this browser (else back to the form).
    "public:register": ("get", lambda o: f"/e/{o['published_event'].pk}/", {"*": 200}),
    "public:registered": (
        "get",
        lambda o: f"/e/{o['published_event'].pk}/registered/",
        {"*": 302},
    ),
    "public:lost_link": ("get", lambda o: f"/e/{o['published_event'].pk}/lost/", {"*": 200}),
    "public:lost_link_sent": (
        "get",
        lambda o: f"/e/{o['published_event'].pk}/lost/sent/",
        {"*": 200},
    ),
    "public:event_cover": ("get", lambda o: f"/e/{o['published_event'].pk}/cover", {"*": 404}),
    # A session's public calendar file (the registration page, no join link) is public.
    "public:session_ics": (
        "get",
        lambda o: (
            f"/e/{o['published_event'].pk}/s/{o['published_event'].sessions.get().pk}/calendar.ics"
        ),
        {"*": 200},
    ),
    "public:access_request_sent": ("get", lambda o: "/access/request/sent/", {"*": 200}),
    # The emailed link that updates a pending access request: the signed link is its only
    # credential (tests/control/test_access_requests.py covers valid links).
    "public:access_request_update": (
        "get",
        lambda o: "/access/request/update/notatoken/",
        {"*": 400},
    ),
    "control:dashboard": ("get", lambda o: "/app/", BACK_OFFICE_ALL),
    "control:members": ("get", lambda o: "/app/members/", BACK_OFFICE_ADMIN),
    "control:member": ("get", lambda o: f"/app/members/{o['other'].pk}/", BACK_OFFICE_ADMIN),
    "control:teams": ("get", lambda o: "/app/teams/", BACK_OFFICE_ALL),
    "control:team": ("get", lambda o: f"/app/teams/{o['team'].pk}/", BACK_OFFICE_ADMIN),
    "control:access_requests": ("get", lambda o: "/app/access-requests/", BACK_OFFICE_ADMIN),
    "control:access_request": (
        "get",
        lambda o: f"/app/access-requests/{o['request'].pk}/",
        BACK_OFFICE_ADMIN,
    ),
    "control:audit": ("get", lambda o: "/app/audit/", BACK_OFFICE_ADMIN),
    "control:mailbox": ("get", lambda o: "/app/mailbox/", BACK_OFFICE_ADMIN),
    "control:mailbox_message": (
        "get",
        lambda o: f"/app/mailbox/{o['mail'].pk}/",
        BACK_OFFICE_ADMIN,
    ),
    "control:tokens": ("get", lambda o: "/app/tokens/", BACK_OFFICE_ALL),
    "control:calendar": ("get", lambda o: "/app/calendar/?view=month", BACK_OFFICE_ALL),
    "control:calendar_feed": ("get", lambda o: "/app/calendar/feed/", BACK_OFFICE_ALL),
    "control:calendar_feed_reset": ("post", lambda o: "/app/calendar/feed/reset/", {"*": 302}),
    "control:profile": ("get", lambda o: "/app/profile/", BACK_OFFICE_ALL),
    # Webinars: every member sees them; the webinar itself (its page, questions,
    # publication, cancelling it) is its owner's and admins' only, not even the
    # co-animator's; the animator under test is neither owner nor assigned.
    "control:events": ("get", lambda o: "/app/events/", BACK_OFFICE_ALL),
    "control:event_new": ("get", lambda o: "/app/events/new/", {A: 302, M: 403, "*": 200}),
    "control:event": ("get", lambda o: f"/app/events/{o['event'].pk}/", BACK_OFFICE_ALL),
    "control:event_edit": (
        "get",
        lambda o: f"/app/events/{o['event'].pk}/edit/",
        BACK_OFFICE_ADMIN,
    ),
    "control:event_publish": (
        "post",
        lambda o: f"/app/events/{o['event'].pk}/publish/",
        MANAGE_POST,
    ),
    "control:event_cancel": ("post", lambda o: f"/app/events/{o['event'].pk}/cancel/", MANAGE_POST),
    "control:event_cover": (
        "get",
        lambda o: f"/app/events/{o['event'].pk}/cover/",
        {A: 302, "*": 404},
    ),
    # Adding a session to the webinar: also the animators of its other sessions.
    "control:session_new": (
        "get",
        lambda o: f"/app/events/{o['event'].pk}/sessions/new/",
        {**BACK_OFFICE_ADMIN, C: 200},
    ),
    "control:question_add": (
        "post",
        lambda o: f"/app/events/{o['event'].pk}/questions/",
        MANAGE_POST,
    ),
    "control:question_remove": (
        "post",
        lambda o: f"/app/questions/{o['question'].pk}/remove/",
        MANAGE_POST,
    ),
    "control:session": ("get", lambda o: f"/app/sessions/{o['session'].pk}/", BACK_OFFICE_ALL),
    "control:session_reschedule": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/reschedule/",
        {**MANAGE_POST, D: 422},  # an empty form
    ),
    "control:session_team": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/team/",
        {**MANAGE_POST, D: 422},
    ),
    "control:session_test_run": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/test-run/",
        MANAGE_POST,
    ),
    "control:session_cancel": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/cancel/",
        MANAGE_POST,
    ),
    # The broadcast's confirmation pages (GET; POST is in tests/control/test_broadcast.py).
    "control:session_broadcast": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/broadcast/start/",
        BACK_OFFICE_ADMIN,
    ),
    # The console (the room seen from backstage): the session's animators and admins.
    "control:session_console": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/room/",
        BACK_OFFICE_ADMIN,
    ),
    "control:speaker_add": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/speakers/",
        {**MANAGE_POST, D: 422},
    ),
    "control:speaker_action": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/speakers/{o['speaker'].pk}/revoke/",
        MANAGE_POST,
    ),
    "control:reminder_add": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/reminders/",
        MANAGE_POST,  # an empty form: back to the page with an error
    ),
    "control:reminder_action": (
        "post",
        lambda o: f"/app/reminders/{o['reminder'].pk}/remove/",
        MANAGE_POST,
    ),
    # A session's emails and messages to its registrants: its animators and admins only.
    "control:session_emails": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/emails/",
        BACK_OFFICE_ADMIN,
    ),
    "control:session_email_log": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/emails/log/",
        BACK_OFFICE_ADMIN,
    ),
    "control:followup_rules": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/emails/followups/",
        MANAGE_POST,
    ),
    "control:session_replay": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/emails/replay/",
        MANAGE_POST,
    ),
    "control:session_text": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/texts/reminder/fr/",
        BACK_OFFICE_ADMIN,
    ),
    "control:campaign_new": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/messages/new/",
        MANAGE_POST,
    ),
    "control:campaign": (
        "get",
        lambda o: f"/app/messages/{o['campaign'].pk}/",
        BACK_OFFICE_ADMIN,
    ),
    "control:campaign_action": (
        "post",
        lambda o: f"/app/messages/{o['campaign'].pk}/approve/",
        MANAGE_POST,  # an unticked form: back to the page with an error
    ),
    # The workspace's default texts: admins only.
    "control:workspace_texts": ("get", lambda o: "/app/email-texts/", BACK_OFFICE_ADMIN),
    "control:workspace_text": (
        "get",
        lambda o: "/app/email-texts/followup_attendees/en/",
        BACK_OFFICE_ADMIN,
    ),
    # Registrants are personal data: the session's animators and admins only.
    "control:registrants": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/registrants/",
        BACK_OFFICE_ADMIN,
    ),
    "control:registrants_import": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/registrants/import/",
        BACK_OFFICE_ADMIN,
    ),
    "control:registrants_export": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/registrants/export.csv",
        BACK_OFFICE_ADMIN,
    ),
    "control:registrant_revoke": (
        "post",
        lambda o: f"/app/registrations/{o['registration'].pk}/revoke/",
        MANAGE_POST,
    ),
    "control:registrant_delete": (
        "get",
        lambda o: f"/app/registrations/{o['registration'].pk}/delete/",
        BACK_OFFICE_ADMIN,
    ),
    # Reports and exports: the session's animators, its speakers who are members (tested
    # in tests/analytics/test_access.py) and admins; dashboards: the webinar's managers and
    # admins; the workspace's dashboard: admins.
    "control:workspace_report": ("get", lambda o: "/app/reports/", BACK_OFFICE_ADMIN),
    "control:event_report": (
        "get",
        lambda o: f"/app/events/{o['event'].pk}/report/",
        {**BACK_OFFICE_ADMIN, C: 200},
    ),
    "control:session_report": (
        "get",
        lambda o: f"/app/sessions/{o['session'].pk}/report/",
        BACK_OFFICE_ADMIN,
    ),
    "control:session_export": (
        "post",
        lambda o: f"/app/sessions/{o['session'].pk}/report/exports/",
        MANAGE_POST,
    ),
    "control:export_status": (
        "get",
        lambda o: f"/app/exports/{o['export'].pk}/",
        BACK_OFFICE_ADMIN,
    ),
    "control:export_download": (
        "get",
        lambda o: f"/app/exports/{o['export'].pk}/download/",
        BACK_OFFICE_ADMIN,
    ),
    "control:token_revoke": ("get", lambda o: "/app/tokens/1/revoke/", {"*": 405}),
    "api-1:api-root": ("get", lambda o: "/api/v1/", {"*": 404}),  # no docs UI: JSON 404
    "api-1:openapi-json": ("get", lambda o: "/api/v1/openapi.json", {"*": 200}),
    "api-1:me": ("get", lambda o: "/api/v1/me", API_ANY),
    "api-1:list_members": ("get", lambda o: "/api/v1/members", API_ADMIN),
    "api-1:set_member_role": (
        "put",
        lambda o: f"/api/v1/members/{o['other'].pk}/role",
        API_ADMIN,
    ),
    "api-1:list_access_requests": ("get", lambda o: "/api/v1/access-requests", API_ADMIN),
    "api-1:approve_access_request": (
        "post",
        lambda o: f"/api/v1/access-requests/{o['request'].pk}/approve",
        API_ADMIN,
    ),
    "api-1:refuse_access_request": (
        "post",
        lambda o: f"/api/v1/access-requests/{o['request'].pk}/refuse",
        API_ADMIN,
    ),
    "api-1:audit": ("get", lambda o: "/api/v1/audit", API_ADMIN),
    "api-1:list_events": ("get", lambda o: "/api/v1/events", API_ANY),
    "api-1:create_event": ("post", lambda o: "/api/v1/events", {A: 401, M: 403, "*": 201}),
    "api-1:get_event": ("get", lambda o: f"/api/v1/events/{o['event'].pk}", API_ANY),
    "api-1:update_event": ("patch", lambda o: f"/api/v1/events/{o['event'].pk}", API_MANAGE),
    "api-1:cancel_event": (
        "post",
        lambda o: f"/api/v1/events/{o['event'].pk}/cancel",
        API_MANAGE,
    ),
    "api-1:schedule_session": (
        "post",
        lambda o: f"/api/v1/events/{o['event'].pk}/sessions",
        {**API_MANAGE_CREATE, C: 201},
    ),
    "api-1:get_session": ("get", lambda o: f"/api/v1/sessions/{o['session'].pk}", API_ANY),
    "api-1:update_session": (
        "patch",
        lambda o: f"/api/v1/sessions/{o['session'].pk}",
        API_MANAGE,
    ),
    "api-1:cancel_session": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/cancel",
        API_MANAGE,
    ),
    # Start and end: the session's animators and admins. The session is a week ahead, so the
    # admin is refused for the timing (409), after the permission check.
    "api-1:open_green_room": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/green-room",
        {**API_MANAGE, D: 409},
    ),
    "api-1:start_session": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/start",
        {**API_MANAGE, D: 409},
    ),
    "api-1:end_session": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/end",
        {**API_MANAGE, D: 409},
    ),
    "api-1:list_speakers": (
        "get",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/speakers",
        API_ANY,
    ),
    "api-1:add_speaker": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/speakers",
        API_MANAGE_CREATE,
    ),
    "api-1:remove_speaker": (
        "delete",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/speakers/{o['speaker'].pk}",
        {**API_MANAGE, D: 204},
    ),
    "api-1:resend_speaker_invitation": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/speakers/{o['speaker'].pk}/resend",
        API_MANAGE,
    ),
    "api-1:revoke_speaker_link": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/speakers/{o['speaker'].pk}/revoke",
        API_MANAGE,
    ),
    "api-1:list_conflicts": (
        "get",
        lambda o: "/api/v1/conflicts?starts_at=2099-01-05T10:00:00Z&duration_minutes=60",
        API_ANY,
    ),
    # Registrants: only the session's animators (not the animator under test) and admins.
    "api-1:register_attendee": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/registrations",
        API_MANAGE_CREATE,
    ),
    "api-1:list_registrations": (
        "get",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/registrations",
        API_MANAGE,
    ),
    "api-1:revoke_registration": (
        "post",
        lambda o: f"/api/v1/registrations/{o['registration'].pk}/revoke",
        API_MANAGE,
    ),
    "api-1:request_export": (
        "post",
        lambda o: f"/api/v1/sessions/{o['session'].pk}/exports",
        {**API_MANAGE, D: 202},
    ),
    "api-1:get_export": ("get", lambda o: f"/api/v1/exports/{o['export'].pk}", API_MANAGE),
    "api-1:download_export": (
        "get",
        lambda o: f"/api/v1/exports/{o['export'].pk}/file",
        API_MANAGE,
    ),
    "api-1:erase_registration": (
        "delete",
        lambda o: f"/api/v1/registrations/{o['registration'].pk}",
        {**API_MANAGE, D: 204},
    ),
}

BODIES: dict[str, Any] = {
    "api-1:set_member_role": {"role": "animator"},
    "api-1:approve_access_request": {"message": ""},
    "api-1:refuse_access_request": {"message": "Non merci."},
    "api-1:create_event": lambda o: {"title": "Nouveau", "team_id": o["team"].pk},
    "api-1:update_event": {"title": "Renommé"},
    "api-1:cancel_event": {"message": ""},
    "api-1:schedule_session": {"starts_at": "2099-01-05T10:00:00Z", "duration_minutes": 60},
    "api-1:update_session": {"capacity": 10},
    "api-1:cancel_session": {"message": ""},
    "api-1:add_speaker": {"email": "new-speaker@x.example", "name": "New"},
    "api-1:request_export": {"format": "csv"},
    "api-1:register_attendee": {
        "email": "new-attendee@x.example",
        "first_name": "A",
        "last_name": "B",
    },
}


def _ready_export(session: Any) -> Export:
    """A finished export with its file, so that the allowed roles get the file."""
    folder = Path(settings.EXPORTS_DIR) / "matrix"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"export-{session.pk}.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    return Export.objects.create(
        session=session, format="csv", state="done", file_name=f"matrix/export-{session.pk}.zip"
    )


def _names(patterns: list[Any], prefix: str = "") -> list[str]:
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names += _names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern):
            names.append(f"{prefix}{pattern.name}" if pattern.name else f"{prefix}<unnamed>")
    return names


def test_every_url_has_an_expected_answer_for_every_role():
    names = set(_names(get_resolver().url_patterns))
    missing = sorted(names - MATRIX.keys())
    assert not missing, f"add these URLs to MATRIX with an expected status per role: {missing}"
    stale = sorted(MATRIX.keys() - names)
    assert not stale, f"these MATRIX entries no longer exist: {stale}"


def _client(role: str, users: dict[str, Any]) -> tuple[Client, dict[str, str]]:
    client = Client()
    if role == A:
        return client, {}
    user = users[role]
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    _token, raw = services.create_api_token(actor=None, user=user, name="matrix")
    return client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_answer(name, role):
    users = {
        D: UserFactory(role=Role.ADMIN),
        N: UserFactory(role=Role.ANIMATOR),
        M: UserFactory(role=Role.MEMBER),
        C: UserFactory(role=Role.ANIMATOR),
    }
    UserFactory(role=Role.ADMIN)  # so the admin under test is never the last one
    objects = {
        "other": UserFactory(role=Role.MEMBER),
        "team": TeamFactory(),
        "request": AccessRequestFactory(),
        "mail": MailboxMessage.objects.create(
            to="x@y.example", subject="s", body_text="b", raw="r"
        ),
    }
    objects["event"] = EventFactory()  # owned by an animator who is none of `users`
    objects["session"] = SessionFactory(event=objects["event"])
    SessionFactory(  # the co-animator's session of the same webinar
        event=objects["event"],
        starts_at=objects["session"].starts_at + timedelta(days=7),
        animators=[users[C]],
    )
    objects["question"] = RegistrationField.objects.create(
        event=objects["event"], label="Service", kind="text"
    )
    objects["registration"] = RegistrationFactory(session=objects["session"])
    objects["reminder"] = Reminder.objects.create(session=objects["session"], offset_minutes=60)
    objects["campaign"] = Campaign.objects.create(
        session=objects["session"], audience="registered", content=DRAFT_CONTENT
    )
    objects["speaker"] = Speaker.objects.create(
        session=objects["session"], email="guest@x.example", name="Guest"
    )
    objects["export"] = _ready_export(objects["session"])
    objects["published_event"] = EventFactory(published=True)  # no cover image
    SessionFactory(event=objects["published_event"])
    method, build, expected = MATRIX[name]
    status = expected.get(role, expected.get("*"))
    client, headers = _client(role, users)
    kwargs: dict[str, Any] = {}
    if name in BODIES:
        body = BODIES[name]  # a dict, or a function of `objects` returning one
        kwargs = {
            "data": body(objects) if callable(body) else body,
            "content_type": "application/json",
        }
    response = getattr(client, method)(build(objects), **kwargs, **headers)
    response.close()  # a file response holds its file open until closed
    assert response.status_code == status, (name, role, response.content[:300])
    if status == 302 and role == A and name.startswith("control:"):
        assert response["Location"].startswith("/login/?next=")
