import secrets

from django.db import migrations, models

import antenne.registrations.models


def give_pins(apps, schema_editor):
    """Every existing registration gets its own 11-digit PIN."""
    Registration = apps.get_model("registrations", "Registration")
    used = set()
    for registration in Registration.objects.only("pk").order_by("pk").iterator():
        pin = f"{secrets.randbelow(10**11):011d}"
        while pin in used:
            pin = f"{secrets.randbelow(10**11):011d}"
        used.add(pin)
        Registration.objects.filter(pk=registration.pk).update(phone_pin=pin)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_session_phone_pin_unique_while_open"),
        ("registrations", "0002_registration_reminders_unsubscribed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="registration",
            name="phone_pin",
            field=models.CharField(
                blank=True,
                default=antenne.registrations.models.random_personal_pin,
                max_length=12,
                verbose_name="telephone PIN",
            ),
        ),
        migrations.RunPython(give_pins, migrations.RunPython.noop, elidable=True),
    ]
