import pytest
from django.urls import reverse


@pytest.mark.parametrize(
    "url_name",
    ["retention:case_list", "customers:walkin", "customers:interceptions", "customers:competitors",
     "retention:callback_queue", "retention:dashboard"],
)
def test_pages_render_for_head(client, bank, case, url_name):
    client.force_login(bank.head)
    response = client.get(reverse(url_name))
    assert response.status_code == 200


def test_customer_360_renders(client, bank, case):
    client.force_login(bank.owner)
    response = client.get(reverse("customers:detail", args=[bank.customer.pk]))
    assert response.status_code == 200
    assert f'id="case-{case.pk}"'.encode() in response.content
