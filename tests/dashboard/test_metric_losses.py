"""Recorded metric losses: the control room warns in one line, the admin lists them read-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from canary.models import MetricLoss

pytestmark = pytest.mark.django_db


def loss(source: str, dropped: int, hours_ago: float) -> MetricLoss:
    at = timezone.now() - timedelta(hours=hours_ago)
    row = MetricLoss.objects.create(source=source, dropped=dropped, first_dropped_at=at,
                                    last_dropped_at=at, buffer_limit=20)
    MetricLoss.objects.filter(pk=row.pk).update(reported_at=at)  # auto_now_add on create
    return row


def test_the_overview_warns_of_the_last_days_losses(admin_client: Client) -> None:
    overview = reverse("admin:canary_dashboard")
    assert "metric record" not in admin_client.get(overview).content.decode()
    loss("web-1:10", 7, hours_ago=1)
    loss("web-2:11", 5, hours_ago=2)
    loss("web-1:10", 1000, hours_ago=30)  # older than a day: not in the warning
    html = admin_client.get(overview).content.decode()
    assert "12 metric records dropped in the last 24 hours by 2 processes" in html
    assert reverse("admin:canary_metricloss_changelist") in html


def test_the_admin_lists_losses_and_allows_no_change(admin_client: Client) -> None:
    row = loss("web-1:10", 7, hours_ago=1)
    changelist = admin_client.get(reverse("admin:canary_metricloss_changelist"))
    assert changelist.status_code == 200
    assert "web-1:10" in changelist.content.decode()
    assert admin_client.get(reverse("admin:canary_metricloss_add")).status_code == 403
    admin_client.post(reverse("admin:canary_metricloss_delete", args=[row.pk]), {"post": "yes"})
    assert MetricLoss.objects.filter(pk=row.pk).exists()
