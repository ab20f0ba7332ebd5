"""A partial index of the metric rows with provider retries: /metrics sums today's retries
per provider and model from these rows alone, not from the day's millions."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('canary', '0006_reliability'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='requestmetric',
            index=models.Index(condition=models.Q(('retries__gt', 0)), fields=['created_at'], name='metric_retried_time'),
        ),
    ]
