# In a migration of its own: PostgreSQL refuses to alter a table with pending trigger
# events, which the data migration before may leave in its transaction.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registrations", "0003_registration_phone_pin"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="registration",
            constraint=models.UniqueConstraint(
                condition=models.Q(("phone_pin", ""), _negated=True),
                fields=("phone_pin",),
                name="registration_phone_pin_unique",
            ),
        ),
    ]
