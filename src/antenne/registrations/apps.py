from django.apps import AppConfig


class RegistrationsConfig(AppConfig):
    name = "antenne.registrations"
    label = "registrations"

    def ready(self) -> None:
        from antenne.registrations import handlers  # models are loaded only now

        handlers.connect()
