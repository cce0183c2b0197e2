from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "antenne.accounts"
    label = "accounts"
