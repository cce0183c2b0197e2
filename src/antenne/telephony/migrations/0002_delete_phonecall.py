from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("telephony", "0001_initial"),
        ("rooms", "0007_phonecall"),
    ]

    operations = [
        # PhoneCall moved to `rooms`, which now owns its table: state only.
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PhoneCall")],
            database_operations=[],
        ),
    ]
