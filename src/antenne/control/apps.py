from django.apps import AppConfig


class ControlConfig(AppConfig):
    name = "antenne.control"
    label = "control"
