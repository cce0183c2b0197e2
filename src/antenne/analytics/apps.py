from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "antenne.analytics"
    label = "analytics"
