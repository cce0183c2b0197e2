from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "antenne.outbox"
    label = "outbox"
    verbose_name = "Outbox"
