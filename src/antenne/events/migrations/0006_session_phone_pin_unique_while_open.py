# In a migration of its own: PostgreSQL refuses to alter a table with pending trigger
# events, which the data migration before may leave in its transaction.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0005_session_phone_pin"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="session",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ["ended", "cancelled"]), _negated=True),
                fields=("phone_pin",),
                name="phone_pin_unique_while_open",
            ),
        ),
    ]
