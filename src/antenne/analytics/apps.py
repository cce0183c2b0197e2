from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "antenne.analytics"
    label = "analytics"

    def ready(self) -> None:
        from antenne.analytics import handlers  # models are loaded only now

        handlers.connect()
