from django.apps import AppConfig


class MailingConfig(AppConfig):
    name = "antenne.mailing"
    label = "mailing"

    def ready(self) -> None:
        from antenne.mailing import handlers  # models are loaded only now

        handlers.connect()
