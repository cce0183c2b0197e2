from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "antenne.rooms"
    label = "rooms"
