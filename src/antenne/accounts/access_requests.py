"""Animator access requests: anyone with a workspace address asks, an admin decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import AccessRequest, Team, User, normalize_email
from antenne.accounts.services import (
    absolute_url,
    change_role,
    checked_email,
    issue_login_url,
    require_admin,
    save_team,
    set_team,
)
from antenne.core import actions, ratelimit
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict, Invalid
from antenne.core.permissions import Role
from antenne.outbox.services import queue_email


def email_domain_allowed(email: str) -> bool:
    domains = settings.WORKSPACE_EMAIL_DOMAINS
    return not domains or normalize_email(email).rsplit("@", 1)[-1] in domains


def submit_access_request(
    *,
    email: str,
    full_name: str,
    team_name: str,
    team_contact_email: str,
    reason: str,
    language: str,
) -> AccessRequest:
    """File a request for animator access. A second request from the same address while one
    is pending is counted on that one and changes nothing else: the form proves nothing about
    who typed the address, so nobody may rewrite someone else's request (its name, team,
    team address or reason) before an admin reads it. If it says something else, the address
    is emailed a link that applies the new text (`confirm_access_request_update`): only the
    address's owner can change their request."""
    address = checked_email(email)
    team_address = checked_email(team_contact_email)
    if not email_domain_allowed(address):
        raise Invalid(
            _("Use your workspace email address."),
            code="access_request.domain",
            domains=settings.WORKSPACE_EMAIL_DOMAINS,
        )
    fields = {
        "full_name": " ".join(full_name.split())[:150],
        "team_name": " ".join(team_name.split())[:120],
        "team_contact_email": team_address,
        "reason": reason.strip()[:2000],
        "language": language,
    }
    with transaction.atomic():
        existing = (
            AccessRequest.objects.select_for_update()
            .filter(email__iexact=address, status=AccessRequest.Status.PENDING)
            .first()
        )
        if existing is not None:
            existing.times_requested += 1
            existing.save(update_fields=["times_requested", "updated_at"])
            log_action(
                existing, actions.ACCESS_REQUEST_MERGED, data={"times": existing.times_requested}
            )
            _offer_update(existing, fields)
            return existing
        try:
            with transaction.atomic():
                access_request = AccessRequest.objects.create(email=address, **fields)
        except IntegrityError:
            # A concurrent request for the same address won the race: merge into it.
            return submit_access_request(
                email=address,
                full_name=full_name,
                team_name=team_name,
                team_contact_email=team_contact_email,
                reason=reason,
                language=language,
            )
        log_action(access_request, actions.ACCESS_REQUESTED)
        review_url = absolute_url(reverse("control:access_request", args=[access_request.pk]))
        for admin in User.objects.filter(role=Role.ADMIN, is_active=True):
            queue_email(
                to=admin.email,
                kind="access_request_admin",
                template="access_request_admin",
                context={"request": access_request, "admin": admin, "review_url": review_url},
                language=admin.language,
            )
    return access_request


UPDATE_SALT = "antenne.access-request.update"
UPDATE_LINK_HOURS = 48
# Emails offering to update one address's pending request, at most (count, seconds): the
# form is limited per client address, this bounds what strangers can send to one person.
UPDATE_EMAILS = (3, 3600)
UPDATE_FIELDS = ("full_name", "team_name", "team_contact_email", "reason", "language")


def _offer_update(access_request: AccessRequest, fields: dict[str, str]) -> None:
    """Email the request's address a link that applies `fields` to it, if they differ."""
    if all(getattr(access_request, name) == value for name, value in fields.items()):
        return
    if not ratelimit.hit("access-request-update", access_request.email, UPDATE_EMAILS):
        return
    token = signing.dumps(
        {"id": access_request.pk, "fields": fields}, salt=UPDATE_SALT, compress=True
    )
    queue_email(
        to=access_request.email,
        kind="access_request_update",
        template="access_request_update",
        context={
            "request": access_request,
            "proposed": fields,
            "confirm_url": absolute_url(reverse("public:access_request_update", args=[token])),
            "hours": UPDATE_LINK_HOURS,
        },
        language=fields["language"],
    )


def read_access_request_update(*, token: str) -> tuple[AccessRequest, dict[str, str]]:
    """The pending request an emailed update link is for, and the text it would apply."""
    invalid = Invalid(
        _(
            "This link cannot be used: it expired, or your request was decided meanwhile. "
            "Send the form again if you need to."
        ),
        code="access_request.update_invalid",
    )
    try:
        payload = signing.loads(token, salt=UPDATE_SALT, max_age=timedelta(hours=UPDATE_LINK_HOURS))
    except signing.BadSignature:  # expired ones included
        raise invalid from None
    access_request = AccessRequest.objects.filter(
        pk=payload.get("id"), status=AccessRequest.Status.PENDING
    ).first()
    if access_request is None:
        raise invalid
    proposed = payload.get("fields") or {}
    return access_request, {name: str(proposed[name]) for name in UPDATE_FIELDS if name in proposed}


def confirm_access_request_update(*, token: str) -> AccessRequest:
    """Apply an emailed update link (its POST): the address's owner rewrites their request."""
    with transaction.atomic():
        access_request, proposed = read_access_request_update(token=token)
        access_request = _locked_pending(access_request)
        changed = {
            name: value
            for name, value in proposed.items()
            if getattr(access_request, name) != value
        }
        if changed:
            for name, value in changed.items():
                setattr(access_request, name, value)
            access_request.save(update_fields=[*changed, "updated_at"])
            log_action(
                access_request, actions.ACCESS_REQUEST_UPDATED, data={"fields": sorted(changed)}
            )
    return access_request


def _locked_pending(access_request: AccessRequest) -> AccessRequest:
    locked = AccessRequest.objects.select_for_update().get(pk=access_request.pk)
    if not locked.is_pending:
        raise Conflict(_("This request has already been decided."), code="access_request.decided")
    return locked


def approve_access_request(*, actor: Any, access_request: AccessRequest, message: str = "") -> User:
    """Grant animator access: the requester's account (created if needed) becomes animator,
    in the team they named (created if needed), and receives a login link. A deactivated
    account is never reactivated by an approval (409 `access_request.account_deactivated`):
    reactivating someone is a decision of its own, on the member's page."""
    require_admin(actor)
    with transaction.atomic():
        access_request = _locked_pending(access_request)
        address = normalize_email(access_request.email)
        if User.objects.filter(email=address, is_active=False).exists():
            raise Conflict(
                _(
                    "This address belongs to a deactivated account. Reactivate the member "
                    "from their page first if they should come back, then approve the "
                    "request; or refuse it."
                ),
                code="access_request.account_deactivated",
            )
        team = Team.objects.filter(name__iexact=access_request.team_name).first()
        if team is None:
            team = save_team(
                actor=actor,
                name=access_request.team_name,
                contact_email=access_request.team_contact_email,
            )
        user, created = User.objects.get_or_create(
            email=address,
            defaults={
                "full_name": access_request.full_name,
                "role": Role.ANIMATOR,
                "team": team,
                "language": access_request.language,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            log_action(user, actions.MEMBER_ADDED, actor=actor, data={"role": Role.ANIMATOR})
        else:
            if user.role == Role.MEMBER:
                change_role(actor=actor, user=user, role=Role.ANIMATOR)
            if user.team is None:
                set_team(actor=actor, user=user, team=team)
            user.refresh_from_db()
        access_request.status = AccessRequest.Status.APPROVED
        access_request.decided_at = timezone.now()
        access_request.decided_by = actor
        access_request.decision_message = message.strip()
        access_request.user = user
        access_request.save()
        log_action(access_request, actions.ACCESS_APPROVED, actor=actor, data={"user": user.pk})
        queue_email(
            to=user.email,
            kind="access_request_approved",
            template="access_request_approved",
            context={
                "request": access_request,
                "user": user,
                "login_url": issue_login_url(user=user),
                "login_page_url": absolute_url(reverse("public:login")),
                "minutes": settings.LOGIN_LINK_MINUTES,
            },
            language=access_request.language,
        )
    return user


def refuse_access_request(
    *, actor: Any, access_request: AccessRequest, message: str
) -> AccessRequest:
    require_admin(actor)
    if not message.strip():
        raise Invalid(
            _("Tell the requester why their request is refused."),
            code="access_request.message_required",
        )
    with transaction.atomic():
        access_request = _locked_pending(access_request)
        access_request.status = AccessRequest.Status.REFUSED
        access_request.decided_at = timezone.now()
        access_request.decided_by = actor
        access_request.decision_message = message.strip()
        access_request.save()
        log_action(access_request, actions.ACCESS_REFUSED, actor=actor)
        queue_email(
            to=access_request.email,
            kind="access_request_refused",
            template="access_request_refused",
            context={"request": access_request},
            language=access_request.language,
        )
    return access_request
