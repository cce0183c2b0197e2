from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "antenne.outbox"
    label = "outbox"
    verbose_name = "Outbox"

    def ready(self) -> None:
        from antenne.outbox import handlers  # models are loaded only now

        handlers.connect()
