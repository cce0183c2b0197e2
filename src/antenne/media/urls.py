"""URLs of media endpoints that are not the browser's (those are in antenne/urls.py):
included under `/media/`."""

from django.urls import path

from antenne.media.janus import views

urlpatterns = [
    path("janus/events", views.janus_events, name="media-janus-events"),
]
