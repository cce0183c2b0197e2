from django.urls import path

from antenne.control import calendar, events, profile, questions, registrants, views

app_name = "control"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/", views.member, name="member"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/", views.team, name="team"),
    path("access-requests/", views.access_requests, name="access_requests"),
    path("access-requests/<int:pk>/", views.access_request, name="access_request"),
    path("audit/", views.audit, name="audit"),
    path("mailbox/", views.mailbox, name="mailbox"),
    path("mailbox/<int:pk>/", views.mailbox_message, name="mailbox_message"),
    path("events/", events.events, name="events"),
    path("events/new/", events.event_new, name="event_new"),
    path("events/<int:pk>/", events.event, name="event"),
    path("events/<int:pk>/edit/", events.event_edit, name="event_edit"),
    path("events/<int:pk>/publish/", events.event_publish, name="event_publish"),
    path("events/<int:pk>/cancel/", events.event_cancel, name="event_cancel"),
    path("events/<int:pk>/cover/", events.event_cover, name="event_cover"),
    path("events/<int:pk>/sessions/new/", events.session_new, name="session_new"),
    path("events/<int:pk>/questions/", questions.question_add, name="question_add"),
    path("questions/<int:pk>/remove/", questions.question_remove, name="question_remove"),
    path("sessions/<int:pk>/", events.session, name="session"),
    path("sessions/<int:pk>/reschedule/", events.session_reschedule, name="session_reschedule"),
    path("sessions/<int:pk>/team/", events.session_team, name="session_team"),
    path("sessions/<int:pk>/test-run/", events.session_test_run, name="session_test_run"),
    path("sessions/<int:pk>/cancel/", events.session_cancel, name="session_cancel"),
    path("sessions/<int:pk>/speakers/", events.speaker_add, name="speaker_add"),
    path(
        "sessions/<int:pk>/speakers/<int:speaker_pk>/<str:action>/",
        events.speaker_action,
        name="speaker_action",
    ),
    path("sessions/<int:pk>/registrants/", registrants.registrants, name="registrants"),
    path(
        "sessions/<int:pk>/registrants/import/",
        registrants.registrants_import,
        name="registrants_import",
    ),
    path(
        "sessions/<int:pk>/registrants/export.csv",
        registrants.registrants_export,
        name="registrants_export",
    ),
    path("registrations/<int:pk>/revoke/", registrants.registrant_revoke, name="registrant_revoke"),
    path("registrations/<int:pk>/delete/", registrants.registrant_delete, name="registrant_delete"),
    path("calendar/", calendar.calendar, name="calendar"),
    path("calendar/feed/", calendar.calendar_feed, name="calendar_feed"),
    path("calendar/feed/reset/", calendar.calendar_feed_reset, name="calendar_feed_reset"),
    path("profile/", profile.profile, name="profile"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
