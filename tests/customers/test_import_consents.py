"""consents.csv, the optional file of the customers' contact preferences: its rows upsert
by customer and channel, the latest statement wins, and a bad row is reported with file,
row and column and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from customers.models import ConsentSource, ContactConsent, Customer
from tests.customers.factories import UserFactory
from tests.customers.test_import import bank, problems, run, write

pytestmark = pytest.mark.django_db

HEADER = ["customer_id", "channel", "do_not_contact", "reason", "effective_on"]
CONSENTS = [
    HEADER,
    ["C0001", "call", "true", "本人致电", "2024-03-01"],
    ["C0001", "message", "1", "", "2024-03-02"],
    ["C0002", "visit", "FALSE", "不再反对上门", "2024-03-03"],
]


def consents(rows: list[list[str]] | None = None) -> dict:
    return bank(consents_csv=rows if rows is not None else CONSENTS)


def stored() -> list[tuple]:
    return list(ContactConsent.objects.order_by("customer__customer_id", "channel").values_list(
        "customer__customer_id", "channel", "do_not_contact", "reason", "effective_on", "source", "set_by"))


def test_the_file_imports_one_preference_per_customer_and_channel(tmp_path):
    result = run(write(tmp_path / "bank", consents()))

    assert result.ok, problems(result)
    assert stored() == [
        ("C0001", "call", True, "本人致电", dt.date(2024, 3, 1), ConsentSource.IMPORT, None),
        ("C0001", "message", True, "", dt.date(2024, 3, 2), ConsentSource.IMPORT, None),
        ("C0002", "visit", False, "不再反对上门", dt.date(2024, 3, 3), ConsentSource.IMPORT, None),
    ]
    assert ("consents.csv", 3, 3, 0) in [(f.name, f.rows, f.inserted, f.updated) for f in result.files]


def test_the_file_is_optional(tmp_path):
    files = bank()
    assert "consents.csv" not in files

    result = run(write(tmp_path / "bank", files))

    assert result.ok and not ContactConsent.objects.exists()


def test_importing_the_same_file_again_changes_nothing(tmp_path):
    run(write(tmp_path / "bank", consents()))

    again = run(write(tmp_path / "again", consents()))

    assert ("consents.csv", 3, 0, 0) in [(f.name, f.rows, f.inserted, f.updated) for f in again.files]


def test_a_newer_row_replaces_a_request_staff_recorded_and_an_older_one_does_not(tmp_path):
    run(write(tmp_path / "bank", bank()))
    customer = Customer.objects.get(customer_id="C0001")
    staff = UserFactory(branch=customer.branch)
    ContactConsent.objects.create(customer=customer, channel="call", do_not_contact=True, reason="told the RM",
                                  effective_on=dt.date(2024, 3, 10), set_by=staff)
    ContactConsent.objects.create(customer=customer, channel="message", do_not_contact=False, reason="",
                                  effective_on=dt.date(2024, 2, 1), set_by=staff)

    result = run(write(tmp_path / "later", consents([
        HEADER,
        ["C0001", "call", "false", "", "2024-03-01"],  # older than what the customer told the RM
        ["C0001", "message", "true", "export", "2024-03-02"],  # newer
    ])))

    assert result.ok, problems(result)
    by_channel = {consent.channel: consent for consent in ContactConsent.objects.filter(customer=customer)}
    assert (by_channel["call"].do_not_contact, by_channel["call"].reason, by_channel["call"].set_by) == (
        True, "told the RM", staff)
    assert (by_channel["message"].do_not_contact, by_channel["message"].source, by_channel["message"].set_by) == (
        True, ConsentSource.IMPORT, None)


def _bad(row: int, column: str, value: str) -> list[list[str]]:
    rows = [list(r) for r in CONSENTS]
    rows[row - 1][HEADER.index(column)] = value
    return rows


BAD_ROWS = {
    "not a boolean": (_bad(2, "do_not_contact", "yes"),
                      "consents.csv:2:do_not_contact: must be true or false, got 'yes'"),
    "empty flag": (_bad(3, "do_not_contact", ""), "consents.csv:3:do_not_contact: required value is missing"),
    "unknown channel": (_bad(4, "channel", "fax"),
                        "consents.csv:4:channel: must be one of call, visit, branch, message, got 'fax'"),
    "bad date": (_bad(2, "effective_on", "2024-02-30"),
                 "consents.csv:2:effective_on: must be a date in YYYY-MM-DD format, got '2024-02-30'"),
    "unknown customer": (_bad(3, "customer_id", "C9999"), "consents.csv:3:customer_id: unknown customer 'C9999'"),
    "reason too long": (_bad(2, "reason", "x" * 301),
                        f"consents.csv:2:reason: must be at most 300 characters, got '{'x' * 37}..."),
    "duplicate key": ([*CONSENTS, ["C0001", "call", "false", "", "2024-04-01"]],
                      "consents.csv:5:customer_id,channel: duplicate key (C0001, call), first seen at row 2"),
}


@pytest.mark.parametrize("rows, expected", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_is_reported_with_file_row_and_column_and_changes_nothing(tmp_path, rows, expected):
    result = run(write(tmp_path / "bad", consents(rows)))

    assert not result.ok
    assert any(problem.startswith(expected.rstrip(".")) for problem in problems(result)), problems(result)
    assert not ContactConsent.objects.exists() and not Customer.objects.exists()


def test_a_missing_column_fails_the_file(tmp_path):
    rows = [row[:2] + row[3:] for row in CONSENTS]

    result = run(write(tmp_path / "bad", consents(rows)))

    assert "consents.csv:1:do_not_contact: missing required column" in problems(result)
