from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kb", "0005_runbook_section_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="runbook",
            name="section_intros",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
