from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "antenne.public"
    label = "public"
