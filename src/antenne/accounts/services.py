"""Writes of the accounts domain: login links, members and roles, teams, access requests,
API tokens. Every function takes keyword arguments and the acting user as `actor`."""

from __future__ import annotations

import functools
import logging
import secrets
import zoneinfo
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from antenne.accounts import hooks
from antenne.accounts.hooks import MemberChange
from antenne.accounts.models import (
    ApiToken,
    LoginToken,
    Team,
    User,
    hash_secret,
    normalize_email,
)
from antenne.core import actions, ratelimit
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict, Invalid, PermissionDenied
from antenne.core.links import absolute_url
from antenne.core.permissions import Role, is_admin, is_member
from antenne.outbox.services import queue_email

SETUP_LINK_HOURS = 24
logger = logging.getLogger("antenne.accounts")


def require_admin(actor: Any) -> None:
    if not is_admin(actor):
        raise PermissionDenied(
            _("Only a workspace admin can do this."), code="permission.admin_only"
        )


def checked_email(value: str) -> str:
    email = normalize_email(value)
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(_("Enter a valid email address."), code="email.invalid") from None
    return email


# --- Login links -------------------------------------------------------------------------


def _new_token(*, user: User | None, purpose: str, lifetime: timedelta) -> str:
    raw = secrets.token_urlsafe(32)  # 256 bits
    LoginToken.objects.create(
        user=user,
        purpose=purpose,
        token_hash=hash_secret(raw),
        expires_at=timezone.now() + lifetime,
    )
    return raw


def issue_login_url(*, user: User) -> str:
    """A single-use login link for `user`, valid ANTENNE_LOGIN_LINK_MINUTES."""
    raw = _new_token(
        user=user,
        purpose=LoginToken.Purpose.LOGIN,
        lifetime=timedelta(minutes=settings.LOGIN_LINK_MINUTES),
    )
    return absolute_url(reverse("public:login_confirm", args=[raw]))


def request_login_link(*, email: str, next_url: str = "") -> None:
    """Answer a login form. The work (lookup, token, email) happens in a background task
    queued identically for every address, so neither the response nor its timing tells
    whether the address has an account. `next_url`, a path of this site the caller checked,
    is where the link leads after login."""
    address = normalize_email(email)
    transaction.on_commit(lambda: send_login_link_task.enqueue(address, next_url))


def send_login_link(*, email: str, next_url: str = "") -> bool:
    """Email a login link if `email` belongs to an active member. True when one was sent.

    At most `ANTENNE_RATE_LIMIT_LOGIN` links go to one address per window; further requests
    send nothing (the form answered the same). By default a link lives as long as the
    window (15 minutes), so when one is dropped the owner already has a link sent in this
    window that still works: a stranger asking for their address cannot lock them out."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return False
    if not ratelimit.hit("login-email", user.email, settings.RATE_LIMIT_LOGIN):
        logger.info("login link for member %s not sent: over its limit", user.pk)
        return False
    with transaction.atomic():
        url = issue_login_url(user=user)
        if next_url:  # checked again when the link is used (`public.views.login_confirm`)
            url += "?" + urlencode({"next": next_url})
        queue_email(
            to=user.email,
            kind="login_link",
            template="login_link",
            context={"user": user, "login_url": url, "minutes": settings.LOGIN_LINK_MINUTES},
            language=user.language,
        )
        log_action(user, actions.LOGIN_LINK_SENT, actor=None)
    return True


@task()
def send_login_link_task(email: str, next_url: str = "") -> bool:
    """The workers' task for `request_login_link`, beside the service that queues it (tasks
    queued before `next_url` existed carry the address only)."""
    return send_login_link(email=email, next_url=next_url)


def redeem_login_token(*, raw: str) -> User:
    """Consume a login link (POST only): valid once, before it expires."""
    with transaction.atomic():
        token = (
            LoginToken.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(token_hash=hash_secret(raw), purpose=LoginToken.Purpose.LOGIN)
            .first()
        )
        if token is None or token.user is None:
            raise Invalid(_("This login link is not valid."), code="login.link_invalid")
        if token.used_at is not None:
            raise Invalid(_("This login link has already been used."), code="login.link_used")
        if token.expires_at <= timezone.now():
            raise Invalid(_("This login link has expired."), code="login.link_expired")
        if not token.user.is_active:
            raise Invalid(_("This login link is not valid."), code="login.link_invalid")
        token.used_at = timezone.now()
        token.save(update_fields=["used_at"])
        user = token.user
        user.last_login = token.used_at
        user.save(update_fields=["last_login"])
        log_action(user, actions.LOGIN, actor=user, data={"method": "email_link"})
    return user


def record_login(*, user: User, method: str) -> None:
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    log_action(user, actions.LOGIN, actor=user, data={"method": method})


def record_logout(*, user: User) -> None:
    log_action(user, actions.LOGOUT, actor=user)


# --- First admin -------------------------------------------------------------------------


def issue_setup_url() -> str | None:
    """While the workspace has no admin, a one-time link that makes its first admin.
    Each call replaces the previous link. None once an admin exists."""
    if User.objects.filter(role=Role.ADMIN, is_active=True).exists():
        return None
    with transaction.atomic():
        LoginToken.objects.filter(purpose=LoginToken.Purpose.SETUP, used_at__isnull=True).delete()
        raw = _new_token(
            user=None,
            purpose=LoginToken.Purpose.SETUP,
            lifetime=timedelta(hours=SETUP_LINK_HOURS),
        )
    return absolute_url(reverse("public:setup", args=[raw]))


def check_setup_token(*, raw: str) -> LoginToken:
    token = LoginToken.objects.filter(
        token_hash=hash_secret(raw), purpose=LoginToken.Purpose.SETUP
    ).first()
    admin_exists = User.objects.filter(role=Role.ADMIN, is_active=True).exists()
    if token is None or not token.is_usable() or admin_exists:
        raise Invalid(
            _(
                "This setup link is not valid any more: it expired, was used, or the "
                "workspace has an admin already. Use `antenne admin create --email ...`."
            ),
            code="setup.link_invalid",
        )
    return token


def complete_setup(*, raw: str, email: str, full_name: str, language: str) -> User:
    """Consume the setup link and create the first workspace admin."""
    address = checked_email(email)
    with transaction.atomic():
        token = LoginToken.objects.select_for_update().get(pk=check_setup_token(raw=raw).pk)
        token.used_at = timezone.now()
        token.save(update_fields=["used_at"])
        user = _make_admin(email=address, full_name=full_name, language=language, actor=None)
        record_login(user=user, method="setup_link")
    return user


def _make_admin(*, email: str, full_name: str, language: str, actor: Any) -> User:
    user, created = User.objects.get_or_create(
        email=email,
        defaults={"full_name": full_name, "role": Role.ADMIN, "language": language},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        log_action(user, actions.ADMIN_CREATED, actor=actor)
    else:
        previous = user.role
        user.role = Role.ADMIN
        user.is_active = True
        user.save(update_fields=["role", "is_active"])
        if previous != Role.ADMIN:
            log_action(
                user, actions.ROLE_CHANGED, actor=actor, data={"from": previous, "to": Role.ADMIN}
            )
    return user


def create_admin(*, email: str, full_name: str = "", actor: Any = None) -> User:
    """Make `email` a workspace admin (creating the account if needed). Used by the CLI."""
    address = checked_email(email)
    if actor is not None:
        require_admin(actor)
    with transaction.atomic():
        return _make_admin(
            email=address, full_name=full_name, language=settings.LANGUAGE_CODE, actor=actor
        )


# --- Members, roles, teams ---------------------------------------------------------------


def add_member(
    *, actor: Any, email: str, full_name: str = "", role: str = Role.MEMBER, team: Team | None
) -> User:
    require_admin(actor)
    address = checked_email(email)
    if role not in Role.values:
        raise Invalid(_("Unknown role."), code="member.role_invalid")
    with transaction.atomic():
        if User.objects.filter(email=address).exists():
            raise Conflict(_("This address already has an account."), code="member.exists")
        user = User(email=address, full_name=full_name, role=role, team=team)
        user.set_unusable_password()
        user.save()
        log_action(user, actions.MEMBER_ADDED, actor=actor, data={"role": role})
        queue_email(
            to=user.email,
            kind="welcome",
            template="welcome",
            context={"user": user, "login_url": absolute_url(reverse("public:login")), "by": actor},
            language=user.language,
        )
    return user


def change_role(*, actor: Any, user: User, role: str) -> User:
    require_admin(actor)
    if role not in Role.values:
        raise Invalid(_("Unknown role."), code="member.role_invalid")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        previous = user.role
        if previous == role:
            return user
        if previous == Role.ADMIN and _is_last_admin(user):
            raise Conflict(
                _("The workspace must keep at least one active admin."), code="member.last_admin"
            )
        user.role = role
        user.save(update_fields=["role"])
        log_action(user, actions.ROLE_CHANGED, actor=actor, data={"from": previous, "to": role})
        # A lower role may end the right to manage sessions whose rooms they are in.
        hooks.MEMBER_ROLE_CHANGED.fire(MemberChange(user_id=user.pk, actor=actor))
    return user


def _is_last_admin(user: User) -> bool:
    others = User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
    return not others.exists()


def set_active(*, actor: Any, user: User, active: bool) -> User:
    """Deactivate or reactivate a member. Deactivating ends everything that let them in, for
    good: a reactivated member logs in again and asks for new API tokens and feed URL."""
    require_admin(actor)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active == active:
            return user
        if not active and user.role == Role.ADMIN and _is_last_admin(user):
            raise Conflict(
                _("The workspace must keep at least one active admin."), code="member.last_admin"
            )
        user.is_active = active
        revoked: dict[str, int] = {}
        if active:
            user.save(update_fields=["is_active"])
        else:
            revoked = _end_access(user)
        action = actions.MEMBER_REACTIVATED if active else actions.MEMBER_DEACTIVATED
        log_action(user, action, actor=actor, data=revoked)
        if not active:
            # Their open room connections are closed at once (rooms subscribes).
            hooks.MEMBER_DEACTIVATED.fire(MemberChange(user_id=user.pk, actor=actor))
    return user


def _end_access(user: User) -> dict[str, int]:
    """Save `user` (deactivated) with every way in ended, and say how many of each."""
    now = timezone.now()
    # Back-office sessions: Django checks each session against a hash of the password field
    # on every request; a new (unusable) password makes every existing session cookie
    # invalid, now and after a reactivation (the session is flushed on its next use).
    user.set_unusable_password()
    # The calendar feed URL dies with its secret; a reactivated member gets a new one.
    had_feed = bool(user.calendar_token)
    user.calendar_token = None
    user.save(update_fields=["is_active", "password", "calendar_token"])
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    links, _deleted = LoginToken.objects.filter(user=user, used_at__isnull=True).delete()
    return {"api_tokens_revoked": tokens, "login_links_voided": links, "calendar_feed": had_feed}


def set_team(*, actor: Any, user: User, team: Team | None) -> User:
    require_admin(actor)
    previous = user.team
    if previous == team:
        return user
    user.team = team
    user.save(update_fields=["team"])
    log_action(
        user,
        actions.TEAM_CHANGED,
        actor=actor,
        data={"from": str(previous) if previous else None, "to": str(team) if team else None},
    )
    return user


def save_team(*, actor: Any, name: str, contact_email: str, team: Team | None = None) -> Team:
    """Create a team, or rename / re-address `team`."""
    require_admin(actor)
    name = " ".join(name.split())
    if not name:
        raise Invalid(_("A team needs a name."), code="team.name_required")
    address = checked_email(contact_email)
    clash = Team.objects.filter(name__iexact=name)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise Conflict(_("A team with this name already exists."), code="team.exists")
    creating = team is None
    team = team or Team()
    team.name, team.contact_email = name, address
    team.save()
    log_action(
        team,
        actions.TEAM_CREATED if creating else actions.TEAM_UPDATED,
        actor=actor,
        data={"name": name, "contact_email": address},
    )
    return team


# --- API tokens --------------------------------------------------------------------------

API_TOKEN_PREFIX = "ant_"  # noqa: S105 (a prefix, not a secret)


def create_api_token(*, actor: Any, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new bearer token for `user`; the raw value is returned once and never stored."""
    if actor is not None and actor != user:
        require_admin(actor)
    if not user.is_active:
        raise Invalid(_("This account is deactivated."), code="member.inactive")
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=raw[:12], token_hash=hash_secret(raw)
    )
    log_action(token, actions.API_TOKEN_CREATED, actor=actor, data={"user": user.pk, "name": name})
    return token, raw


def authenticate_api_token(*, raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_secret(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def revoke_api_token(*, actor: Any, token: ApiToken) -> None:
    if actor != token.user:
        require_admin(actor)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        log_action(token, actions.API_TOKEN_REVOKED, actor=actor)


# --- One's own profile and calendar feed -------------------------------------------------


@functools.cache
def known_time_zones() -> frozenset[str]:
    """The IANA zone names this system knows (aliases such as America/Montreal included)."""
    return frozenset(zoneinfo.available_timezones())


def _require_self_or_admin(actor: Any, user: User) -> None:
    if getattr(actor, "pk", None) != user.pk or not is_member(actor):
        require_admin(actor)


def update_profile(
    *, actor: Any, user: User, full_name: str, language: str, time_zone: str
) -> User:
    """A member's name, language (of pages and emails) and time zone (of every date shown)."""
    _require_self_or_admin(actor, user)
    if language not in dict(settings.LANGUAGES):
        raise Invalid(_("Choose French or English."), code="profile.language_invalid")
    time_zone = time_zone.strip()
    if time_zone not in known_time_zones():
        raise Invalid(
            _("Unknown time zone: use a name such as Europe/Paris or America/Cayenne."),
            code="profile.time_zone_invalid",
        )
    values = {
        "full_name": " ".join(full_name.split())[:150],
        "language": language,
        "time_zone": time_zone,
    }
    changed = {
        name: {"from": getattr(user, name), "to": value}
        for name, value in values.items()
        if getattr(user, name) != value
    }
    if changed:
        with transaction.atomic():
            for name in changed:
                setattr(user, name, values[name])
            user.save(update_fields=list(changed))
            log_action(user, actions.PROFILE_UPDATED, actor=actor, data=changed)
    return user


def ensure_calendar_token(*, user: User) -> str:
    """The secret of `user`'s calendar feed URL, created the first time it is asked for."""
    if not is_member(user):
        raise PermissionDenied(
            _("Only workspace members have a calendar feed."), code="permission.member_only"
        )
    if user.calendar_token:
        return user.calendar_token
    with transaction.atomic():
        # Two first visits at once must end with one token, not two different ones shown.
        created = User.objects.filter(pk=user.pk, calendar_token__isnull=True).update(
            calendar_token=secrets.token_urlsafe(32)
        )
        if created:
            log_action(user, actions.CALENDAR_FEED_CREATED, actor=user)
    user.refresh_from_db(fields=["calendar_token"])
    return str(user.calendar_token)  # set just above, by us or by a concurrent first visit


def reset_calendar_token(*, actor: Any, user: User) -> str:
    """A new feed URL for `user`; the previous one stops working at once."""
    _require_self_or_admin(actor, user)
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        user.calendar_token = raw
        user.save(update_fields=["calendar_token"])
        log_action(user, actions.CALENDAR_FEED_RESET, actor=actor)
    return raw
