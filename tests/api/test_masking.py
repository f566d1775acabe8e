"""Personal data is masked in every output: every GET endpoint of the API, as the
administrator (who sees every customer), must not contain a full phone or ID number.
Only the reveal endpoint returns one, and only to a user with the permission."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.security.test_permission_matrix import PROJECT_URLS, RULES

pytestmark = pytest.mark.django_db


def _full_values(world) -> list[str]:
    return [v for c in world.customers.values() for v in (c.phone, c.id_number)]


API_GETS = [u for u in PROJECT_URLS if u.name.startswith("api:") and RULES[u.name].method == "get"
            and u.name not in {"api:docs", "api:redoc", "api:schema"}]


@pytest.mark.parametrize("url", API_GETS, ids=str)
def test_no_full_phone_or_id_number_in_api_output(world, url):
    rule = RULES[url.name]
    client = world.client("admin")
    for obj in ("own", "colleague", "other") if rule.per_object else [None]:
        path = reverse(url.name, kwargs=rule.kwargs(world, obj) if rule.kwargs else {})
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode("utf-8-sig")
        for value in _full_values(world):
            assert value not in body, f"{path} shows {value[:3]}…"


def test_walkin_search_and_page_exports_are_masked(world):
    body = world.client("admin").post("/api/v1/customers/search/", {"q": "王"},
                                      content_type="application/json").content.decode()
    for value in _full_values(world):
        assert value not in body
    export = world.client("rm_owner").get(reverse("retention:case_export", kwargs={"fmt": "csv"}))
    for value in _full_values(world):
        assert value not in export.content.decode("utf-8-sig")


def test_customer_page_is_masked(world):
    customer = world.customers["own"]
    html = world.client("rm_owner").get(f"/customers/{customer.pk}/").content.decode()
    assert customer.phone not in html and customer.id_number not in html
