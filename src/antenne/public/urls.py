from django.urls import path

from antenne.public import feeds, join, registration, room, speaker_room, unsubscribe, views

app_name = "public"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/sent/", views.login_sent, name="login_sent"),
    path("login/<str:token>/", views.login_confirm, name="login_confirm"),
    path("logout/", views.logout_view, name="logout"),
    path("setup/<str:token>/", views.setup, name="setup"),
    path("access/request/", views.access_request, name="access_request"),
    path("access/request/sent/", views.access_request_sent, name="access_request_sent"),
    path(
        "access/request/update/<str:token>/",
        views.access_request_update,
        name="access_request_update",
    ),
    path("speaker/<str:token>/", views.speaker, name="speaker"),
    path("speaker/<str:token>/room/", speaker_room.speaker_room, name="speaker_room"),
    path("join/<str:key>/", join.join, name="join"),
    path("join/<str:key>/calendar.ics", join.join_ics, name="join_ics"),
    path("join/<str:key>/room/", room.room, name="room"),
    path("e/<int:event_id>/", registration.register, name="register"),
    path("e/<int:event_id>/registered/", registration.registered, name="registered"),
    path("e/<int:event_id>/lost/", registration.lost_link, name="lost_link"),
    path("e/<int:event_id>/lost/sent/", registration.lost_link_sent, name="lost_link_sent"),
    path("e/<int:event_id>/cover", registration.cover, name="event_cover"),
    path(
        "e/<int:event_id>/s/<int:session_id>/calendar.ics",
        registration.session_ics,
        name="session_ics",
    ),
    path("calendar/<str:token>.ics", feeds.calendar_feed, name="calendar_feed"),
    path("u/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
]
