from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "antenne.telephony"
    label = "telephony"
