"""One message to registrants (a follow-up or a manual message): edit, check, preview, test,
approve, and follow its sending; Stop."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from antenne.control.session_emails import TextForm
from antenne.control.views import member_required, signed_in
from antenne.core.exceptions import AntenneError
from antenne.core.forms import Form
from antenne.mailing import campaign_sending, campaigns, placeholders, texts
from antenne.mailing.models import Campaign

ACTIONS = ("confirm", "test", "approve", "withdraw", "stop", "delete")


class ApproveForm(Form):
    expected_count = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    understood = forms.BooleanField(
        label=gettext_lazy("I have checked the preview and the recipients."), required=True
    )


def _content_forms(campaign: Campaign, data: object = None) -> list[tuple[str, TextForm]]:
    return [
        (
            language,
            TextForm(
                data,
                prefix=language,
                initial=campaign.content.get(language, {}),
            ),
        )
        for language in texts.LANGUAGES
    ]


@member_required
def campaign(request: HttpRequest, pk: int) -> HttpResponse:
    item = campaigns.access_campaign(actor=request.user, pk=pk)
    forms_ = _content_forms(item)
    if request.method == "POST":
        forms_ = _content_forms(item, request.POST)
        if all(form.is_valid() for _language, form in forms_):
            try:
                campaigns.update_content(
                    actor=request.user,
                    campaign=item,
                    content={language: form.cleaned_data for language, form in forms_},
                )
            except AntenneError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Text saved. Check the warnings and the preview."))
                return redirect("control:campaign", item.pk)
    session = item.session
    flags = campaigns.flags_of(item)
    count = (
        campaigns.segment_queryset(session, item.audience).count()
        if item.state == Campaign.State.DRAFT
        else item.recipient_count
    )
    languages = campaigns.languages_of(item)
    previews = [(language, *campaigns.preview(item, language)) for language in languages]
    recipient_states = dict(item.recipients.values_list("state").annotate(n=Count("pk")).order_by())
    email_states = dict(item.emails.values_list("state").annotate(n=Count("pk")).order_by())
    recipients = Paginator(item.recipients.select_related("outgoing").order_by("pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "control/campaign.html",
        {
            "campaign": item,
            "session": session,
            "event": session.event,
            "content_forms": forms_,
            "flags": [(flag, flag.id in item.confirmed_flags) for flag in flags],
            "unconfirmed": [flag for flag in flags if flag.id not in item.confirmed_flags],
            "count": count,
            "segment": campaigns.describe_segment(session, item.audience, count),
            "approve_form": ApproveForm(initial={"expected_count": count}),
            "second_needed": campaigns.needs_second_approval(count),
            "approvals": item.approvals.select_related("user"),
            "already_approved": item.approvals.filter(user=signed_in(request)).exists(),
            "previews": previews,
            "placeholders": placeholders.REGISTRY.values(),
            "recipient_states": recipient_states,
            "email_states": email_states,
            "recipients": recipients,
            "session_over": session.finished_at <= timezone.now(),
        },
    )


@require_POST
@member_required
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    item = campaigns.access_campaign(actor=request.user, pk=pk)
    actor = request.user
    try:
        if action == "confirm":
            campaigns.confirm_flag(
                actor=actor, campaign=item, flag_id=request.POST.get("flag", "")[:32]
            )
            messages.success(request, _("Warning confirmed."))
        elif action == "test":
            campaigns.send_test(actor=actor, campaign=item)
            messages.success(
                request,
                _("A test email in each language is on its way to %(email)s.")
                % {"email": actor.email},  # type: ignore[union-attr]
            )
        elif action == "approve":
            form = ApproveForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Tick the box to confirm you checked the message."))
                return redirect("control:campaign", item.pk)
            item = campaigns.approve(
                actor=actor, campaign=item, expected_count=form.cleaned_data["expected_count"]
            )
            if item.state == Campaign.State.AWAITING_SECOND_APPROVAL:
                messages.success(
                    request, _("Approved. Another animator or an admin must approve it too.")
                )
            else:
                messages.success(request, _("Approved: the message will go out as shown."))
        elif action == "withdraw":
            campaigns.withdraw_approval(actor=actor, campaign=item)
            messages.success(request, _("Back to draft: nothing was sent."))
        elif action == "stop":
            counts = campaign_sending.stop(actor=actor, campaign=item)
            messages.success(
                request,
                _("Stopped: %(n)d recipient(s) will not receive the message.")
                % {"n": counts["recipients_withheld"] + counts["emails_withheld"]},
            )
        elif action == "delete":
            session_id = item.session_id
            campaigns.delete_campaign(actor=actor, campaign=item)
            messages.success(request, _("Draft deleted."))
            return redirect(f"/app/sessions/{session_id}/emails/#messages")
    except AntenneError as error:
        messages.error(request, error.message)
    return redirect("control:campaign", item.pk)
