from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "antenne.events"
    label = "events"
