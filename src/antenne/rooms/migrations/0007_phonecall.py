import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_session_phone_pin_unique_while_open"),
        ("rooms", "0006_presence_speaker"),
        ("telephony", "0001_initial"),
    ]

    # PhoneCall moved from `telephony` (its table kept its name): state only.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PhoneCall",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("caller_masked", models.CharField(blank=True, max_length=40)),
                        ("caller_hash", models.CharField(blank=True, db_index=True, max_length=64)),
                        ("call_id", models.CharField(max_length=200)),
                        ("codec", models.CharField(blank=True, max_length=8)),
                        (
                            "outcome",
                            models.CharField(
                                choices=[
                                    ("active", "In progress"),
                                    ("completed", "Completed"),
                                    ("caller_hung_up", "Caller hung up before joining"),
                                    ("wrong_pin", "Too many wrong PINs"),
                                    ("throttled", "Refused: too many wrong PINs from this number"),
                                    ("no_pin", "No PIN typed"),
                                    ("session_over", "Session over"),
                                    ("failed", "Technical failure"),
                                ],
                                db_index=True,
                                default="active",
                                max_length=16,
                            ),
                        ),
                        ("wrong_pins", models.PositiveIntegerField(default=0)),
                        ("floor", models.BooleanField(default=False)),
                        ("started_at", models.DateTimeField(auto_now_add=True)),
                        ("joined_at", models.DateTimeField(blank=True, null=True)),
                        ("ended_at", models.DateTimeField(blank=True, null=True)),
                        ("packets_received", models.PositiveIntegerField(default=0)),
                        ("packets_lost", models.PositiveIntegerField(default=0)),
                        ("packets_sent", models.PositiveIntegerField(default=0)),
                        (
                            "presence",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="phone_call",
                                to="rooms.presence",
                            ),
                        ),
                        (
                            "session",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="phone_calls",
                                to="events.session",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "telephony_phonecall",
                        "ordering": ["started_at", "id"],
                        "indexes": [
                            models.Index(
                                fields=["session", "outcome"], name="phonecall_session_outcome"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
