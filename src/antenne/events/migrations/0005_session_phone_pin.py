import secrets

from django.db import migrations, models

import antenne.events.models


def give_pins(apps, schema_editor):
    """Every existing session gets its own 9-digit PIN (all different, so the constraint
    added next holds whatever their states)."""
    Session = apps.get_model("events", "Session")
    used = set()
    for session in Session.objects.only("pk").order_by("pk").iterator():
        pin = f"{secrets.randbelow(10**9):09d}"
        while pin in used:
            pin = f"{secrets.randbelow(10**9):09d}"
        used.add(pin)
        Session.objects.filter(pk=session.pk).update(phone_pin=pin)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_session_ended_at_session_replay_url_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="session",
            name="phone_pin",
            field=models.CharField(
                default=antenne.events.models.random_session_pin,
                max_length=12,
                verbose_name="telephone PIN",
            ),
        ),
        migrations.RunPython(give_pins, migrations.RunPython.noop, elidable=True),
    ]
