"""A session's emails in the back office: its editable texts, follow-up rules, replay link,
messages to registrants, and the delivery status of everything sent for it. Also the
workspace's default texts (admins)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from antenne.accounts.selectors import is_admin
from antenne.control.reminders import reminders_context
from antenne.control.views import admin_required, member_required
from antenne.core.exceptions import AntenneError
from antenne.core.forms import Form
from antenne.events import selectors
from antenne.mailing import campaign_sending, campaigns, followups, placeholders, texts
from antenne.mailing.models import Campaign, FollowUpRule
from antenne.outbox.models import OutgoingEmail


class TextForm(Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=250)
    body = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=gettext_lazy(
            "Plain text. Placeholders in braces, such as {first_name}, are replaced for each "
            "recipient; write {{ and }} for literal braces. Links become clickable."
        ),
    )


class FollowUpRuleForm(Form):
    enabled = forms.BooleanField(label=gettext_lazy("Send a follow-up"), required=False)
    delay_minutes = forms.IntegerField(
        label=gettext_lazy("Minutes after the end"), min_value=0, max_value=followups.MAX_DELAY
    )


class ReplayForm(Form):
    replay_url = forms.URLField(
        label=gettext_lazy("Replay link"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=gettext_lazy("Where the recording can be watched (https://…)."),
    )


class NewCampaignForm(Form):
    audience = forms.ChoiceField(
        label=gettext_lazy("Recipients"), choices=Campaign.Audience.choices
    )


def _rule_forms(rules: list[FollowUpRule]) -> list[tuple[FollowUpRule, FollowUpRuleForm]]:
    return [
        (
            rule,
            FollowUpRuleForm(
                prefix=f"rule-{rule.audience}",
                initial={"enabled": rule.enabled, "delay_minutes": rule.delay_minutes},
            ),
        )
        for rule in rules
    ]


def _delivery_summary(session_id: int) -> list[dict[str, object]]:
    """Per kind of email: how many are pending, sent, failed, withheld."""
    rows: dict[str, dict[str, object]] = {}
    for row in (
        OutgoingEmail.objects.filter(session_id=session_id)
        .values("kind", "state")
        .annotate(n=Count("pk"))
        .order_by("kind")
    ):
        entry = rows.setdefault(row["kind"], {"kind": row["kind"], "total": 0})
        entry[row["state"]] = row["n"]
        entry["total"] = int(entry["total"]) + row["n"]  # type: ignore[call-overload]
    return list(rows.values())


@member_required
def session_emails(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    return render(
        request,
        "control/session_emails.html",
        {
            "session": session,
            "event": session.event,
            "texts": [(kind, label, texts.LANGUAGES) for kind, label in texts.KIND_LABELS.items()],
            "rules": _rule_forms(followups.rules_of(session)),
            "replay_form": ReplayForm(initial={"replay_url": session.replay_url}),
            "campaign_form": NewCampaignForm(),
            "campaigns": session.campaigns.all(),
            "summary": _delivery_summary(session.pk),
            "section": "emails",
            "can_manage": True,
            **reminders_context(session),
        },
    )


def _back(session_id: int, anchor: str) -> HttpResponse:
    return redirect(f"/app/sessions/{session_id}/emails/#{anchor}")


@require_POST
@member_required
def followup_rules(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    for rule in followups.rules_of(session):
        form = FollowUpRuleForm(request.POST, prefix=f"rule-{rule.audience}")
        if not form.is_valid():
            messages.error(request, _("Check the delay of the follow-ups (0 to 43,200 minutes)."))
            return _back(session.pk, "followups")
        try:
            followups.change_rule(
                actor=request.user,
                session=session,
                audience=rule.audience,
                enabled=form.cleaned_data["enabled"],
                delay_minutes=form.cleaned_data["delay_minutes"],
            )
        except AntenneError as error:
            messages.error(request, error.message)
            return _back(session.pk, "followups")
    messages.success(request, _("Follow-up settings saved."))
    return _back(session.pk, "followups")


@require_POST
@member_required
def session_replay(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    form = ReplayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a full https:// link."))
        return _back(session.pk, "replay")
    try:
        followups.set_replay_url(
            actor=request.user, session=session, url=form.cleaned_data["replay_url"] or ""
        )
    except AntenneError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Replay link saved."))
    return _back(session.pk, "replay")


@require_POST
@member_required
def campaign_new(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    form = NewCampaignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose who receives the message."))
        return _back(session.pk, "messages")
    audience = form.cleaned_data["audience"]
    try:
        campaign = campaigns.create_campaign(
            actor=request.user,
            session=session,
            audience=audience,
            is_followup=audience in campaign_sending.FOLLOWUP_KIND
            and request.POST.get("followup") == "1",
        )
    except AntenneError as error:
        messages.error(request, error.message)
        return _back(session.pk, "messages")
    return redirect("control:campaign", campaign.pk)


@member_required
def session_email_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Every email written for the session, newest first, filterable by state and kind."""
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    emails = OutgoingEmail.objects.filter(session=session).only(
        "to", "kind", "state", "subject", "attempts", "last_error", "created_at", "sent_at"
    )
    state = request.GET.get("state", "")
    if state in OutgoingEmail.State.values:
        emails = emails.filter(state=state)
    kind = request.GET.get("kind", "")[:60].replace("\x00", "")
    if kind:
        emails = emails.filter(kind=kind)
    page = Paginator(emails, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "control/session_email_log.html",
        {
            "session": session,
            "event": session.event,
            "page": page,
            "state": state,
            "kind": kind,
            "states": OutgoingEmail.State.choices,
            "kinds": sorted(
                OutgoingEmail.objects.filter(session=session)
                .values_list("kind", flat=True)
                .distinct()
            ),
        },
    )


def _edit_text(
    request: HttpRequest, *, kind: str, language: str, session: object | None, back: str
) -> HttpResponse:
    if kind not in texts.KIND_LABELS or language not in texts.LANGUAGES:
        raise Http404
    if session is not None:
        current = texts.session_text(session, kind, language)  # type: ignore[arg-type]
        subject, body = current.subject, current.body
    else:
        subject, body = texts.workspace_text(kind, language)
    form = TextForm(initial={"subject": subject, "body": body})
    if request.method == "POST":
        form = TextForm(request.POST)
        if form.is_valid():
            try:
                texts.save_text(
                    actor=request.user,
                    kind=kind,
                    language=language,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    session=session,  # type: ignore[arg-type]
                )
            except AntenneError as error:
                form.add_error("body", error.message)
            else:
                messages.success(request, _("Email text saved."))
                return redirect(back)
    return render(
        request,
        "control/email_text.html",
        {
            "form": form,
            "session": session,
            "event": getattr(session, "event", None),
            "kind_label": texts.KIND_LABELS[kind],
            "language": language,
            "placeholders": placeholders.REGISTRY.values(),
            "required": texts.REQUIRED.get(kind, ()),
            "back": back,
        },
    )


@member_required
def session_text(request: HttpRequest, pk: int, kind: str, language: str) -> HttpResponse:
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    return _edit_text(
        request,
        kind=kind,
        language=language,
        session=session,
        back=f"/app/sessions/{session.pk}/emails/#texts",
    )


@admin_required
def workspace_texts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "control/workspace_texts.html",
        {"texts": [(kind, label, texts.LANGUAGES) for kind, label in texts.KIND_LABELS.items()]},
    )


@admin_required
def workspace_text(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    assert is_admin(request.user)  # noqa: S101 (admin_required)
    return _edit_text(request, kind=kind, language=language, session=None, back="/app/email-texts/")
