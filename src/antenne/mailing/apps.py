from django.apps import AppConfig


class MailingConfig(AppConfig):
    name = "antenne.mailing"
    label = "mailing"
