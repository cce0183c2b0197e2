import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """OutgoingEmail, MailboxMessage and Suppression moved to the `outbox` app, which now owns
    their tables (same names): state only, the database is left as it is."""

    dependencies = [
        ("mailing", "0005_campaignapproval_campaignrecipient_followuprule_and_more"),
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="campaignrecipient",
                    name="outgoing",
                    field=models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="outbox.outgoingemail",
                    ),
                ),
                migrations.DeleteModel(name="MailboxMessage"),
                migrations.DeleteModel(name="Suppression"),
                migrations.DeleteModel(name="OutgoingEmail"),
            ],
            database_operations=[],
        ),
    ]
