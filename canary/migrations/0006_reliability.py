"""Retries per attempt, timeouts in the rollups (the latency gate counts them), and the
record of metric losses."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('canary', '0005_metric_request_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='requestmetric',
            name='retries',
            field=models.PositiveSmallIntegerField(default=0, help_text='Provider retries inside this attempt (after a 429, 5xx or cut).'),
        ),
        migrations.AddField(
            model_name='metricrollup',
            name='timeouts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='hourlyrollup',
            name='timeouts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.CreateModel(
            name='MetricLoss',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(help_text='The process that dropped them.', max_length=64)),
                ('dropped', models.PositiveBigIntegerField()),
                ('first_dropped_at', models.DateTimeField()),
                ('last_dropped_at', models.DateTimeField()),
                ('reported_at', models.DateTimeField(auto_now_add=True)),
                ('buffer_limit', models.PositiveIntegerField(help_text='METRICS_MAX_BUFFER of that process.')),
            ],
            options={
                'verbose_name_plural': 'metric losses',
                'ordering': ['-reported_at'],
            },
        ),
    ]
