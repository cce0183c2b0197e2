from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "antenne.rooms"
    label = "rooms"

    def ready(self) -> None:
        from antenne.rooms import handlers  # models are loaded only now

        handlers.connect()
