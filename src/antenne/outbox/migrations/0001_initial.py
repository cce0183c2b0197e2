import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("events", "0006_session_phone_pin_unique_while_open"),
        ("mailing", "0005_campaignapproval_campaignrecipient_followuprule_and_more"),
    ]

    # The models moved from `mailing` (their tables kept their names): state only, the
    # database is left as it is.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MailboxMessage",
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
                        ("to", models.TextField(verbose_name="to")),
                        ("from_email", models.CharField(max_length=254, verbose_name="from")),
                        ("subject", models.CharField(max_length=250, verbose_name="subject")),
                        ("body_text", models.TextField()),
                        ("body_html", models.TextField(blank=True)),
                        ("message_id", models.CharField(blank=True, max_length=250)),
                        ("raw", models.TextField()),
                        (
                            "created_at",
                            models.DateTimeField(auto_now_add=True, verbose_name="received"),
                        ),
                    ],
                    options={
                        "verbose_name": "mailbox message",
                        "db_table": "mailing_mailboxmessage",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="Suppression",
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
                        (
                            "address",
                            models.EmailField(max_length=254, unique=True, verbose_name="address"),
                        ),
                        ("reason", models.TextField(blank=True, verbose_name="reason")),
                        (
                            "created_at",
                            models.DateTimeField(auto_now_add=True, verbose_name="suppressed at"),
                        ),
                    ],
                    options={
                        "verbose_name": "suppressed address",
                        "db_table": "mailing_suppression",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="OutgoingEmail",
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
                        ("to", models.EmailField(max_length=254, verbose_name="recipient")),
                        ("kind", models.CharField(max_length=60, verbose_name="kind")),
                        ("language", models.CharField(default="fr", max_length=8)),
                        ("subject", models.CharField(max_length=250, verbose_name="subject")),
                        ("body_text", models.TextField()),
                        ("body_html", models.TextField(blank=True)),
                        ("attachments", models.JSONField(blank=True, default=list)),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("withheld", "Withheld"),
                                ],
                                db_index=True,
                                default="pending",
                                max_length=10,
                                verbose_name="state",
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("unsubscribe_url", models.URLField(blank=True, max_length=500)),
                        ("message_id", models.CharField(blank=True, max_length=250)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "campaign",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="emails",
                                to="mailing.campaign",
                            ),
                        ),
                        (
                            "session",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="emails",
                                to="events.session",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "mailing_outgoingemail",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["session", "state"], name="email_session_state")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
