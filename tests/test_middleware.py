"""A NUL anywhere in a URL is a 400 naming it, before any view or query runs."""

from __future__ import annotations

import pytest
from django.test import Client

from registry.models import Provider


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "says"), [
    ("/admin/canary/requestmetric/?q=a%00b", "query parameter 'q'"),
    ("/admin/canary/requestmetric/?purpose=%00", "query parameter 'purpose'"),
    ("/admin/registry/model/?provider__key=%00", "query parameter 'provider__key'"),
    ("/admin/registry/provider/?a%00=1", "query parameter 'a%00'"),
    ("/admin/registry/provider/1%00/change/", "URL path"),
    ("/dashboard/haiku%00/", "URL path"),
])
def test_a_nul_in_the_url_is_refused_before_the_database(admin_client: Client, url: str,
                                                         says: str) -> None:
    providers = Provider.objects.count()
    response = admin_client.get(url)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert Provider.objects.count() == providers


@pytest.mark.django_db
def test_a_search_without_nul_still_works(admin_client: Client) -> None:
    assert admin_client.get("/admin/canary/requestmetric/?q=abc").status_code == 200
