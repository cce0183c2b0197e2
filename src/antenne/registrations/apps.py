from django.apps import AppConfig


class RegistrationsConfig(AppConfig):
    name = "antenne.registrations"
    label = "registrations"
