from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "antenne.core"
    label = "core"
