from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "antenne.api"
    label = "api"
