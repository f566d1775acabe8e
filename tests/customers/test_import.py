"""``import_bank_data`` / ``bank_data_import``: validation messages, all or nothing,
idempotence, history, the customer refresh. Runs on SQLite and on PostgreSQL
(where the COPY paths run; ``test_bulk_*`` force the bulk path for empty tables)."""

from __future__ import annotations

import copy
import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation

from customers.importing import writers
from customers.models import (
    Appointment,
    Branch,
    Customer,
    Holding,
    MonthlyBalance,
    Product,
    ProductYield,
    Role,
    Survey,
    Tier,
    User,
)
from customers.services import ImportResult, bank_data_import
from customers.tiers import TIERS, tier_for_aum, tiers_for_aum
from tests.customers.factories import CustomerFactory, MonthlyBalanceFactory, UserFactory

pytestmark = pytest.mark.django_db

MONTHLY_HEADER = ["customer_id", "month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend",
                  "txn_count", "digital_logins", "products_held", "status"]

# A small bank that touches every rule. Rows are written with csv.writer, so
# the comma and the line break in the survey comments are quoted; the second
# survey therefore spans lines 3-4 and the third starts on line 5.
BANK: dict[str, list[list[str]]] = {
    "branches.csv": [
        ["branch_code", "name", "city"],
        ["BR01", "城西支行", "杭州"],
        ["BR02", "城东支行", "杭州"],
    ],
    "products.csv": [
        ["product_code", "provider", "name", "kind", "yield_pct", "term_days"],
        ["OUR-TD", "Demo Bank", "三个月定期", "deposit", "1.500", "90"],
        ["RIV-WM", "Rival Bank", "Rival wealth, series A", "wealth", "3.200", "180"],
        ["OUR-CARD", "Demo Bank", "信用卡", "card", "", ""],
    ],
    "product_yields.csv": [
        ["product_code", "month", "yield_pct"],
        ["RIV-WM", "2024-01", "3.100"],
        ["RIV-WM", "2024-02", "3.200"],
    ],
    "staff.csv": [
        ["staff_code", "name", "branch_code", "role", "email"],
        ["RM01", "王伟", "BR01", "rm", "rm01@bank.example.com"],
        ["RM02", "李娜", "BR02", "rm", ""],
        ["L01", "张敏", "BR01", "lobby", "l01@bank.example.com"],
        ["H01", "刘强", "BR01", "head", "h01@bank.example.com"],
    ],
    "customers.csv": [
        ["customer_id", "name", "gender", "birth_date", "id_number", "phone", "branch_code", "rm_code", "opened_on",
         "region", "annual_income", "credit_score"],
        ["C0001", "陈杰", "M", "1975-04-02", "330106197504021234", "13900001111", "BR01", "RM01", "2010-06-01",
         "杭州市西湖区", "850000.00", "720"],
        ["C0002", "杨芳", "F", "1988-11-30", "330106198811305678", "13900002222", "BR02", "RM02", "2018-03-15",
         "", "", ""],
        ["C0003", "赵磊", "M", "1992-01-15", "33010619920115901X", "13900003333", "BR01", "RM01", "2021-09-09",
         "杭州市上城区", "120000", ""],
    ],
    "monthly.csv": [
        MONTHLY_HEADER,
        ["C0001", "2024-01", "580000.00", "300000.00", "280000.00", "0.00", "12000.50", "40", "22", "4", "active"],
        ["C0001", "2024-02", "590000.00", "300000.00", "290000.00", "0.00", "9000.00", "38", "20", "4", "active"],
        ["C0001", "2024-03", "600000.00", "310000.00", "290000.00", "0.00", "8000.00", "35", "25", "4", "active"],
        ["C0002", "2024-01", "45000.00", "45000.00", "0.00", "200000.00", "3000.00", "12", "5", "2", "active"],
        ["C0002", "2024-02", "48000.00", "48000.00", "0.00", "195000.00", "3100.00", "15", "6", "2", "active"],
        ["C0002", "2024-03", "50000.00", "50000.00", "0.00", "190000.00", "2900.00", "14", "4", "2", "active"],
        ["C0003", "2024-02", "6000000.00", "1000000.00", "5000000.00", "0.00", "0.00", "3", "1", "2", "active"],
        ["C0003", "2024-03", "0.00", "0.00", "0.00", "0.00", "0.00", "0", "0", "0", "closed"],
    ],
    "holdings.csv": [
        ["customer_id", "product_code", "amount", "start_on", "maturity_on"],
        ["C0001", "RIV-WM", "200000.00", "2024-01-10", "2024-07-08"],
        ["C0001", "OUR-TD", "100000.00", "2024-02-01", "2024-05-01"],
        ["C0002", "OUR-CARD", "50000.00", "2023-05-01", ""],
    ],
    "surveys.csv": [
        ["customer_id", "surveyed_on", "score", "channel", "comment"],
        ["C0001", "2024-03-05", "9", "branch", "Friendly, quick"],
        ["C0002", "2024-03-06", "4", "phone", 'Waited "forever"\nand nobody called back'],
        ["C0003", "2024-03-07", "7", "app", ""],
    ],
    "appointments.csv": [
        ["customer_id", "kind", "amount", "scheduled_on"],
        ["C0001", "cash_withdrawal", "300000.00", "2024-04-02"],
        ["C0002", "transfer", "150000.00", "2024-04-03"],
    ],
}

IMPORTED_MODELS = (Branch, Product, ProductYield, User, Customer, MonthlyBalance, Holding, Survey, Appointment)


def write(directory: Path, files: dict[str, list[list[str]]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        with (directory / name).open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
    return directory


def bank(**changes: list[list[str]]) -> dict[str, list[list[str]]]:
    """A deep copy of BANK, with whole files replaced: bank(monthly_csv=rows)."""
    files = copy.deepcopy(BANK)
    for key, rows in changes.items():
        files[key.replace("_csv", ".csv")] = rows
    return files


def run(directory: Path) -> ImportResult:
    # Messages are asserted in English whatever translations the project gains.
    with translation.override("en"):
        return bank_data_import(directory=directory)


def problems(result: ImportResult) -> list[str]:
    return [str(problem) for problem in result.problems]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in IMPORTED_MODELS}


def snapshot() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in IMPORTED_MODELS}


def imported(tmp_path: Path) -> ImportResult:
    result = run(write(tmp_path / "bank", BANK))
    assert result.ok, problems(result)
    return result


# --- a clean import ------------------------------------------------------------------------------


def test_a_complete_set_imports_every_row(tmp_path):
    result = imported(tmp_path)

    assert counts() == {"Branch": 2, "Product": 3, "ProductYield": 2, "User": 4, "Customer": 3,
                        "MonthlyBalance": 8, "Holding": 3, "Survey": 3, "Appointment": 2}
    assert [(f.name, f.rows, f.inserted, f.updated) for f in result.files] == [
        ("branches.csv", 2, 2, 0), ("products.csv", 3, 3, 0), ("product_yields.csv", 2, 2, 0),
        ("staff.csv", 4, 4, 0), ("customers.csv", 3, 3, 0), ("monthly.csv", 8, 8, 0),
        ("holdings.csv", 3, 3, 0), ("surveys.csv", 3, 3, 0), ("appointments.csv", 2, 2, 0),
    ]


def test_imported_values_are_typed_and_derived_fields_filled(tmp_path):
    imported(tmp_path)

    customer = Customer.objects.get(customer_id="C0003")
    assert (customer.name, customer.gender, customer.birth_date) == ("赵磊", "M", dt.date(1992, 1, 15))
    assert (customer.phone_tail, customer.id_tail) == ("3333", "901X")
    assert (customer.branch.code, customer.rm.staff_code) == ("BR01", "RM01")
    assert (customer.annual_income, customer.credit_score) == (Decimal("120000.00"), None)
    assert Customer.objects.get(customer_id="C0002").region == ""
    balance = MonthlyBalance.objects.get(customer__customer_id="C0001", month=dt.date(2024, 1, 1))
    assert (balance.aum, balance.card_spend, balance.txn_count) == (Decimal("580000.00"), Decimal("12000.50"), 40)
    assert set(Product.objects.filter(is_ours=True).values_list("product_code", flat=True)) == {"OUR-TD", "OUR-CARD"}
    card = Product.objects.get(product_code="OUR-CARD")
    assert (card.yield_pct, card.term_days) == (None, None)
    february_yield = ProductYield.objects.get(product__product_code="RIV-WM", month=dt.date(2024, 2, 1))
    assert february_yield.yield_pct == Decimal("3.2")
    assert Holding.objects.get(product__product_code="OUR-CARD").maturity_on is None
    assert Survey.objects.get(customer__customer_id="C0002").comment == 'Waited "forever"\nand nobody called back'


def test_imported_staff_are_users_who_cannot_log_in_yet(tmp_path):
    imported(tmp_path)

    rm = User.objects.get(username="RM01")
    assert (rm.staff_code, rm.display_name, rm.branch.code, rm.role, rm.email) == (
        "RM01", "王伟", "BR01", Role.RM, "rm01@bank.example.com")
    assert not rm.has_usable_password()
    assert (rm.is_active, rm.is_staff, rm.is_superuser) == (True, False, False)
    assert User.objects.get(username="L01").role == Role.LOBBY


def test_latest_aum_month_status_and_tier_are_refreshed_from_the_latest_month(tmp_path):
    imported(tmp_path)

    latest = {c.customer_id: (c.latest_month, c.latest_aum, c.status, c.tier) for c in Customer.objects.all()}
    assert latest == {
        "C0001": (dt.date(2024, 3, 1), Decimal("600000.00"), "active", "platinum"),
        "C0002": (dt.date(2024, 3, 1), Decimal("50000.00"), "active", "gold"),  # exactly the gold floor
        "C0003": (dt.date(2024, 3, 1), Decimal("0.00"), "closed", "mass"),
    }


def test_files_may_be_absent_and_refer_to_what_is_already_in_the_database(tmp_path):
    customer = CustomerFactory(customer_id="C0100")
    rows = [MONTHLY_HEADER, ["C0100", "2024-05", "7000000", "7000000", "0", "0", "0", "1", "1", "1", "active"]]

    result = run(write(tmp_path / "only_monthly", {"monthly.csv": rows}))

    assert result.ok, problems(result)
    customer.refresh_from_db()
    assert (customer.latest_aum, customer.tier, customer.latest_month) == (
        Decimal("7000000.00"), "private", dt.date(2024, 5, 1))


def test_an_empty_directory_is_a_problem(tmp_path):
    result = run(tmp_path)

    assert not result.ok
    assert "no interchange files found" in problems(result)[0]


# --- bad rows ------------------------------------------------------------------------------------


def _set(files: dict, name: str, row: int, column: str, value: str) -> dict:
    """Change one value; ``row`` counts the header as 1, so it is the line
    number as long as no value before it spans lines."""
    rows = files[name]
    rows[row - 1][rows[0].index(column)] = value
    return files


def _drop_column(files: dict, name: str, column: str) -> dict:
    index = files[name][0].index(column)
    files[name] = [row[:index] + row[index + 1:] for row in files[name]]
    return files


def _duplicate_row(files: dict, name: str, row: int, of_row: int) -> dict:
    files[name][row - 1] = list(files[name][of_row - 1])
    return files


BAD_ROWS = {
    "missing column": (lambda f: _drop_column(f, "monthly.csv", "aum"),
                       "monthly.csv:1:aum: missing required column"),
    "bad date": (lambda f: _set(f, "customers.csv", 3, "birth_date", "1988-02-30"),
                 "customers.csv:3:birth_date: must be a date in YYYY-MM-DD format, got '1988-02-30'"),
    "date out of range": (lambda f: _set(f, "customers.csv", 3, "opened_on", "0001-01-01"),
                          "customers.csv:3:opened_on: must be a date between 1900-01-01 and 2199-12-31, "
                          "got '0001-01-01'"),
    "bad month": (lambda f: _set(f, "monthly.csv", 3, "month", "2024-13"),
                  "monthly.csv:3:month: must be a month in YYYY-MM format, got '2024-13'"),
    "negative balance": (lambda f: _set(f, "monthly.csv", 7, "aum", "-5"),
                         "monthly.csv:7:aum: must be a non-negative number, got '-5'"),
    "not a number": (lambda f: _set(f, "monthly.csv", 2, "loan_balance", "1,000"),
                     "monthly.csv:2:loan_balance: must be a non-negative number, got '1,000'"),
    "too many decimals": (lambda f: _set(f, "monthly.csv", 2, "card_spend", "10.005"),
                          "monthly.csv:2:card_spend: must have at most 2 decimal places, got '10.005'"),
    "too large": (lambda f: _set(f, "monthly.csv", 2, "aum", "12345678901234567"),
                  "monthly.csv:2:aum: must be less than 10,000,000,000,000,000, got '12345678901234567'"),
    "bad count": (lambda f: _set(f, "monthly.csv", 4, "txn_count", "3.5"),
                  "monthly.csv:4:txn_count: must be a non-negative integer, got '3.5'"),
    "bad enum": (lambda f: _set(f, "staff.csv", 3, "role", "boss"),
                 "staff.csv:3:role: must be one of rm, lobby, head, analyst, got 'boss'"),
    "bad status": (lambda f: _set(f, "monthly.csv", 5, "status", "dormant"),
                   "monthly.csv:5:status: must be one of active, closed, got 'dormant'"),
    "missing value": (lambda f: _set(f, "customers.csv", 2, "name", "  "),
                      "customers.csv:2:name: required value is missing"),
    "too long": (lambda f: _set(f, "customers.csv", 2, "customer_id", "C" * 33),
                 f"customers.csv:2:customer_id: must be at most 32 characters, got '{'C' * 33}'"),
    "bad email": (lambda f: _set(f, "staff.csv", 2, "email", "rm01-at-bank"),
                  "staff.csv:2:email: must be an email address, got 'rm01-at-bank'"),
    # The fourth row of surveys.csv starts on line 5: the row before it spans two lines.
    "score out of range": (lambda f: _set(f, "surveys.csv", 4, "score", "11"),
                           "surveys.csv:5:score: must be an integer from 0 to 10, got '11'"),
    "unknown branch": (lambda f: _set(f, "customers.csv", 3, "branch_code", "BR99"),
                       "customers.csv:3:branch_code: unknown branch 'BR99'"),
    "unknown RM": (lambda f: _set(f, "customers.csv", 3, "rm_code", "RM999"),
                   "customers.csv:3:rm_code: unknown relationship manager 'RM999'"),
    "RM who is not an RM": (lambda f: _set(f, "customers.csv", 4, "rm_code", "L01"),
                            "customers.csv:4:rm_code: staff member 'L01' is not a relationship manager "
                            "(role: lobby)"),
    "unknown customer": (lambda f: _set(f, "monthly.csv", 8, "customer_id", "C9999"),
                         "monthly.csv:8:customer_id: unknown customer 'C9999'"),
    "unknown product": (lambda f: _set(f, "holdings.csv", 3, "product_code", "NOPE"),
                        "holdings.csv:3:product_code: unknown product 'NOPE'"),
    "duplicate key": (lambda f: _duplicate_row(f, "monthly.csv", 9, of_row=4),
                      "monthly.csv:9:customer_id,month: duplicate key (C0001, 2024-03), first seen at row 4"),
    "duplicate code": (lambda f: _set(f, "customers.csv", 4, "customer_id", "C0001"),
                       "customers.csv:4:customer_id: duplicate key (C0001), first seen at row 2"),
    "maturity before start": (lambda f: _set(f, "holdings.csv", 2, "maturity_on", "2024-01-01"),
                              "holdings.csv:2:maturity_on: must not be before start_on (2024-01-10), "
                              "got '2024-01-01'"),
}


@pytest.mark.parametrize("change, expected", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_is_reported_with_file_line_column_and_reason(tmp_path, change, expected):
    result = run(write(tmp_path / "bad", change(bank())))

    assert not result.ok
    assert expected in problems(result)


@pytest.mark.parametrize("change, expected", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_changes_nothing(tmp_path, change, expected):
    result = run(write(tmp_path / "bad", change(bank())))

    assert not result.ok
    assert counts() == dict.fromkeys(counts(), 0)


def test_a_file_that_is_not_utf8_is_reported_with_its_line(tmp_path):
    directory = write(tmp_path / "gbk", bank())
    path = directory / "customers.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].decode("utf-8").encode("gbk")  # line 3, "C0002,杨芳,..." saved by Excel as GBK
    path.write_bytes(b"\n".join(lines))

    result = run(directory)

    assert not result.ok
    assert ("customers.csv:3: the file is not valid UTF-8 (byte 0xd1 at position 7 of this line); "
            "save it as UTF-8") in problems(result)
    assert counts() == dict.fromkeys(counts(), 0)


def test_a_row_with_the_wrong_number_of_fields_is_reported_and_the_rest_still_checked(tmp_path):
    files = bank()
    files["monthly.csv"][4].append("surplus")  # line 5
    files = _set(files, "monthly.csv", 8, "aum", "-1")

    result = run(write(tmp_path / "ragged", files))

    assert problems(result) == [
        "monthly.csv:5: expected 11 fields, found 12",
        "monthly.csv:8:aum: must be a non-negative number, got '-1'",
    ]


def test_every_problem_in_every_file_is_reported_in_file_and_line_order(tmp_path):
    files = _set(bank(), "monthly.csv", 7, "aum", "-5")
    files = _set(files, "monthly.csv", 3, "status", "gone")
    files = _set(files, "branches.csv", 3, "name", "")

    result = run(write(tmp_path / "bad", files))

    assert problems(result) == [
        "branches.csv:3:name: required value is missing",
        "monthly.csv:3:status: must be one of active, closed, got 'gone'",
        "monthly.csv:7:aum: must be a non-negative number, got '-5'",
    ]
    assert result.problem_count == 3


def test_only_the_first_problems_are_listed_and_the_rest_counted(tmp_path, settings):
    settings.IMPORT_MAX_ERRORS_SHOWN = 5
    rows = [MONTHLY_HEADER] + [
        ["C0001", f"{2000 + i // 12}-{i % 12 + 1:02d}", "lots", "0", "0", "0", "0", "0", "0", "0", "active"]
        for i in range(12)
    ]

    result = run(write(tmp_path / "bad", bank(monthly_csv=rows)))

    assert result.problem_count == 12
    assert problems(result) == [f"monthly.csv:{line}:aum: must be a non-negative number, got 'lots'"
                                for line in range(2, 7)]


def test_a_staff_code_that_is_another_users_name_is_refused(tmp_path):
    UserFactory(username="H01", staff_code="X-H01")

    result = run(write(tmp_path / "bank", bank()))

    assert "staff.csv:5:staff_code: user name 'H01' already belongs to another user" in problems(result)


def test_a_reference_may_point_at_a_staff_member_whose_file_role_is_rm(tmp_path):
    UserFactory(staff_code="RM03", username="RM03", lobby=True)
    files = bank()
    files["staff.csv"].append(["RM03", "周婷", "BR02", "rm", ""])  # promoted by this file
    files = _set(files, "customers.csv", 3, "rm_code", "RM03")

    result = run(write(tmp_path / "bank", files))

    assert result.ok, problems(result)
    assert Customer.objects.get(customer_id="C0002").rm.username == "RM03"


# --- all or nothing, idempotence, history -----------------------------------------------------


def test_one_bad_monthly_row_after_good_branches_and_customers_writes_nothing_at_all(tmp_path):
    before = counts()
    files = _set(bank(), "monthly.csv", 9, "aum", "-0.01")

    result = run(write(tmp_path / "bad", files))

    assert problems(result) == ["monthly.csv:9:aum: must be a non-negative number, got '-0.01'"]
    assert counts() == before
    assert [f.inserted for f in result.files] == [0] * 9


def test_importing_the_same_files_again_leaves_the_database_exactly_as_it_was(tmp_path):
    directory = write(tmp_path / "bank", BANK)
    assert run(directory).ok
    before = snapshot()

    result = run(directory)

    assert result.ok
    assert snapshot() == before
    assert [(f.inserted, f.updated) for f in result.files] == [(0, 0)] * 9
    assert result.customers_refreshed == 0


def test_a_changed_row_is_updated_in_place(tmp_path):
    imported(tmp_path)
    files = _set(bank(), "monthly.csv", 4, "aum", "650000.00")

    result = run(write(tmp_path / "changed", files))

    monthly = next(f for f in result.files if f.name == "monthly.csv")
    assert (monthly.inserted, monthly.updated, monthly.unchanged) == (0, 1, 7)
    customer = Customer.objects.get(customer_id="C0001")
    assert (customer.latest_aum, customer.tier) == (Decimal("650000.00"), "platinum")


def test_next_months_file_adds_to_the_history(tmp_path):
    imported(tmp_path)
    april = [MONTHLY_HEADER,
             ["C0001", "2024-04", "450000.00", "300000.00", "150000.00", "0", "0", "30", "20", "4", "active"],
             ["C0002", "2024-04", "52000.00", "52000.00", "0", "0", "0", "10", "3", "2", "active"]]

    result = run(write(tmp_path / "april", {"monthly.csv": april}))

    assert result.ok, problems(result)
    assert MonthlyBalance.objects.count() == 10
    assert MonthlyBalance.objects.filter(customer__customer_id="C0001").count() == 4
    latest = {c.customer_id: (c.latest_month, c.latest_aum, c.tier) for c in Customer.objects.all()}
    assert latest["C0001"] == (dt.date(2024, 4, 1), Decimal("450000.00"), "gold")  # dropped below platinum
    assert latest["C0003"] == (dt.date(2024, 3, 1), Decimal("0.00"), "mass")  # not in the file: untouched


def test_an_older_month_imported_again_does_not_overwrite_the_latest_state(tmp_path):
    imported(tmp_path)
    january = [MONTHLY_HEADER,
               ["C0001", "2024-01", "9000000.00", "0", "0", "0", "0", "1", "1", "1", "active"]]

    result = run(write(tmp_path / "january", {"monthly.csv": january}))

    assert result.ok
    customer = Customer.objects.get(customer_id="C0001")
    assert (customer.latest_month, customer.latest_aum, customer.tier) == (
        dt.date(2024, 3, 1), Decimal("600000.00"), "platinum")


def test_reimporting_staff_keeps_a_password_an_admin_has_set(tmp_path):
    imported(tmp_path)
    rm = User.objects.get(username="RM01")
    rm.set_password("s3cret-enough")
    rm.save()
    files = _set(bank(), "staff.csv", 2, "name", "王伟 (senior)")

    result = run(write(tmp_path / "again", files))

    assert result.ok
    rm.refresh_from_db()
    assert rm.check_password("s3cret-enough")
    assert rm.display_name == "王伟 (senior)"


# --- customers without an RM (rm_code and opened_on may be empty) -------------------------------


def _unassigned(files: dict, row: int, *, opened_on: str = "") -> dict:
    files = _set(files, "customers.csv", row, "rm_code", "")
    return _set(files, "customers.csv", row, "opened_on", opened_on)


def test_a_customer_with_an_empty_rm_code_and_opening_date_loads_with_both_null(tmp_path):
    files = _unassigned(bank(), 4)  # C0003
    files = _set(files, "customers.csv", 3, "rm_code", "   ")  # C0002: blanks are empty too

    result = run(write(tmp_path / "unassigned", files))

    assert result.ok, problems(result)
    customers = next(f for f in result.files if f.name == "customers.csv")
    assert (customers.rows, customers.inserted) == (3, 3)  # none dropped by the join
    rows = {c.customer_id: (c.rm_id and c.rm.staff_code, c.opened_on) for c in Customer.objects.all()}
    assert rows == {
        "C0001": ("RM01", dt.date(2010, 6, 1)),
        "C0002": (None, dt.date(2018, 3, 15)),
        "C0003": (None, None),
    }
    # The rest of the set still hangs off the unassigned customers.
    assert MonthlyBalance.objects.filter(customer__customer_id="C0003").count() == 2


def test_a_non_empty_rm_code_must_still_name_an_rm_when_others_are_empty(tmp_path):
    files = _unassigned(bank(), 2)
    files = _set(files, "customers.csv", 3, "rm_code", "RM999")
    files = _set(files, "customers.csv", 4, "rm_code", "H01")

    result = run(write(tmp_path / "bad", files))

    assert problems(result) == [
        "customers.csv:3:rm_code: unknown relationship manager 'RM999'",
        "customers.csv:4:rm_code: staff member 'H01' is not a relationship manager (role: head)",
    ]
    assert counts() == dict.fromkeys(counts(), 0)


def test_reimporting_a_customer_whose_rm_code_became_empty_unassigns_them(tmp_path):
    imported(tmp_path)
    assert Customer.objects.get(customer_id="C0001").rm.staff_code == "RM01"
    directory = write(tmp_path / "unassigned", _unassigned(bank(), 2, opened_on="2010-06-01"))

    result = run(directory)

    assert result.ok, problems(result)
    customers = next(f for f in result.files if f.name == "customers.csv")
    assert (customers.inserted, customers.updated, customers.unchanged) == (0, 1, 2)
    c1 = Customer.objects.get(customer_id="C0001")
    assert (c1.rm, c1.opened_on) == (None, dt.date(2010, 6, 1))
    assert User.objects.filter(staff_code="RM01").exists()  # only the assignment went
    # NULL compares as unchanged the next time: the row is not rewritten again.
    again = next(f for f in run(directory).files if f.name == "customers.csv")
    assert (again.inserted, again.updated) == (0, 0)
    # And an RM given back in a later file assigns the customer again.
    assert run(write(tmp_path / "assigned", bank())).ok
    assert Customer.objects.get(customer_id="C0001").rm.staff_code == "RM01"


def test_factories_and_imports_share_natural_keys(tmp_path):
    """A row the admin created is updated by the import, not duplicated."""
    rm = UserFactory(staff_code="RM01", username="RM01")
    customer = CustomerFactory(customer_id="C0001", rm=rm, branch=rm.branch)
    MonthlyBalanceFactory(customer=customer, month=dt.date(2024, 1, 1), aum=Decimal("1.00"))

    imported(tmp_path)

    assert User.objects.filter(staff_code="RM01").count() == 1
    assert MonthlyBalance.objects.get(customer=customer, month=dt.date(2024, 1, 1)).aum == Decimal("580000.00")


# --- the command -------------------------------------------------------------------------------


def test_the_command_prints_a_summary_per_file(tmp_path, capsys):
    directory = write(tmp_path / "bank", BANK)

    with translation.override("en"):
        call_command("import_bank_data", str(directory), "--no-progress")

    out = capsys.readouterr().out
    assert "monthly.csv: 8 rows read, 8 inserted, 0 updated, 0 unchanged" in out
    assert "3 customers' latest AUM, status and tier refreshed" in out


def test_the_command_fails_printing_every_problem_and_a_count_of_the_rest(tmp_path, capsys, settings):
    settings.IMPORT_MAX_ERRORS_SHOWN = 2
    files = _set(bank(), "monthly.csv", 2, "aum", "x")
    files = _set(files, "monthly.csv", 3, "aum", "y")
    files = _set(files, "monthly.csv", 4, "aum", "z")

    with translation.override("en"), pytest.raises(CommandError, match="3 problems found; nothing was imported"):
        call_command("import_bank_data", str(write(tmp_path / "bad", files)), "--no-progress")

    err = capsys.readouterr().err
    assert "monthly.csv:2:aum: must be a non-negative number, got 'x'" in err
    assert "monthly.csv:3:aum: must be a non-negative number, got 'y'" in err
    assert "'z'" not in err
    assert "… and 1 more problems not shown" in err
    assert counts() == dict.fromkeys(counts(), 0)


def test_the_command_refuses_a_directory_that_does_not_exist(tmp_path):
    with pytest.raises(CommandError):
        call_command("import_bank_data", str(tmp_path / "nowhere"), "--no-progress")


# --- PostgreSQL's bulk path (empty tables) ------------------------------------------------------

needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk path is PostgreSQL's")


def _schema() -> dict[str, dict]:
    with connection.cursor() as cursor:
        return {model.__name__: connection.introspection.get_constraints(cursor, model._meta.db_table)
                for model in IMPORTED_MODELS}


@pytest.fixture
def bulk(monkeypatch):
    """Every file takes the bulk path when its table is empty."""
    monkeypatch.setattr(writers, "BULK_MIN_BYTES", 0)


@needs_postgres
def test_bulk_path_imports_the_same_rows_and_restores_every_index_and_constraint(tmp_path, bulk):
    schema = _schema()

    imported(tmp_path)

    assert _schema() == schema
    assert counts()["MonthlyBalance"] == 8
    latest = {c.customer_id: (c.latest_month, c.latest_aum, c.status, c.tier) for c in Customer.objects.all()}
    assert latest == {
        "C0001": (dt.date(2024, 3, 1), Decimal("600000.00"), "active", "platinum"),
        "C0002": (dt.date(2024, 3, 1), Decimal("50000.00"), "active", "gold"),
        "C0003": (dt.date(2024, 3, 1), Decimal("0.00"), "closed", "mass"),
    }
    assert Customer.objects.get(customer_id="C0003").phone_tail == "3333"
    # Ids were handed out in Python: the sequences must have moved past them.
    highest_balance = max(MonthlyBalance.objects.values_list("pk", flat=True))
    highest_customer = max(Customer.objects.values_list("pk", flat=True))
    customer = Customer.objects.get(customer_id="C0003")
    assert MonthlyBalanceFactory(customer=customer, month=dt.date(2024, 4, 1)).pk > highest_balance
    assert CustomerFactory().pk > highest_customer


@needs_postgres
def test_bulk_path_writes_customers_once_with_their_latest_balances(tmp_path, bulk, settings):
    """customers.csv's rows wait for monthly.csv and go in complete: no refresh UPDATE
    rewrites them. A customer without monthly rows keeps the defaults; tiers follow the
    floors exactly at the boundary, in cents."""
    settings.AUM_TIER_FLOORS = {"gold": 50_000.01, "platinum": 500_000, "private": 6_000_000}
    customers_csv = copy.deepcopy(BANK["customers.csv"])
    no_rows = list(customers_csv[1])
    no_rows[0], no_rows[4] = "C0004", "330100199001014444"
    customers_csv.append(no_rows)
    statements = []

    def log(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(log):
        result = run(write(tmp_path / "bank", bank(customers_csv=customers_csv)))

    assert result.ok, problems(result)
    assert result.customers_refreshed == 3
    assert not [sql for sql in statements if sql.startswith('UPDATE "customers_customer"')]
    latest = {c.customer_id: (c.latest_month, c.latest_aum, c.status, c.tier) for c in Customer.objects.all()}
    assert latest == {
        "C0001": (dt.date(2024, 3, 1), Decimal("600000.00"), "active", "platinum"),
        "C0002": (dt.date(2024, 3, 1), Decimal("50000.00"), "active", "mass"),  # a cent below the floor
        "C0003": (dt.date(2024, 3, 1), Decimal("0.00"), "closed", "mass"),
        "C0004": (None, Decimal("0.00"), "active", ""),
    }
    assert MonthlyBalance.objects.filter(customer__customer_id="C0001").count() > 0


@needs_postgres
def test_bulk_path_then_the_same_files_again_changes_nothing(tmp_path, bulk):
    directory = write(tmp_path / "bank", BANK)
    assert run(directory).ok
    before = snapshot()

    result = run(directory)

    assert snapshot() == before
    assert [(f.inserted, f.updated) for f in result.files] == [(0, 0)] * 9


@needs_postgres
def test_bulk_path_loads_a_customer_without_rm_or_opening_date_with_both_null(tmp_path, bulk, monkeypatch):
    bulk_loaded = []
    open_bulk = writers.PostgresWriter._open_bulk

    def spy(self, spec):
        bulk_loaded.append(spec.kind)
        return open_bulk(self, spec)

    monkeypatch.setattr(writers.PostgresWriter, "_open_bulk", spy)
    schema = _schema()

    result = run(write(tmp_path / "unassigned", _unassigned(bank(), 4)))

    assert result.ok, problems(result)
    assert "customers" in bulk_loaded  # the COPY-straight-into-the-table path, not the staged upsert
    assert _schema() == schema  # the rm foreign key came back, and accepted the NULL
    rows = {c.customer_id: (c.rm_id and c.rm.staff_code, c.opened_on) for c in Customer.objects.all()}
    assert rows == {
        "C0001": ("RM01", dt.date(2010, 6, 1)),
        "C0002": ("RM02", dt.date(2018, 3, 15)),
        "C0003": (None, None),
    }
    assert MonthlyBalance.objects.filter(customer__customer_id="C0003").count() == 2


@needs_postgres
def test_bulk_path_with_a_bad_row_writes_nothing_and_keeps_the_schema(tmp_path, bulk):
    schema = _schema()
    files = _duplicate_row(bank(), "monthly.csv", 9, of_row=4)

    result = run(write(tmp_path / "bad", files))

    assert not result.ok
    assert counts() == dict.fromkeys(counts(), 0)
    assert _schema() == schema


# --- tiers (customers.tiers, shared with the churn engine) -------------------------------------

FLOORS = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}


@pytest.mark.parametrize("aum, tier", [
    (0, "mass"), (Decimal("49999.99"), "mass"), (50_000, "gold"), (499_999.99, "gold"),
    (500_000, "platinum"), (Decimal("5999999.99"), "platinum"), (6_000_000, "private"), (10**9, "private"),
])
def test_a_floor_belongs_to_the_tier_it_opens(aum, tier):
    assert tier_for_aum(aum, FLOORS) == tier


def test_the_vectorised_tiers_agree_with_the_single_one_and_leave_missing_aum_missing():
    import pandas as pd

    aums = pd.Series([0, 49_999.99, 50_000, 500_000, 6_000_000, None], index=list("abcdef"))

    tiers = tiers_for_aum(aums, FLOORS)

    assert tiers.tolist()[:5] == [tier_for_aum(aum, FLOORS) for aum in aums[:5]]
    assert tiers.iloc[5] is None
    assert list(tiers.index) == list("abcdef")


def test_tier_names_are_the_models_tier_values():
    assert list(TIERS) == [tier.value for tier in Tier]


def test_floors_out_of_order_are_refused():
    with pytest.raises(ValueError, match="tier floors must rise"):
        tier_for_aum(1, {"gold": 500_000, "platinum": 50_000, "private": 6_000_000})


@needs_postgres
def test_a_refresh_of_most_customers_rebuilds_their_indexes_and_keeps_the_schema(tmp_path, monkeypatch):
    imported(tmp_path)
    schema = _schema()
    monkeypatch.setattr(writers, "REFRESH_REBUILD_MIN_CUSTOMERS", 1)
    april = [MONTHLY_HEADER,
             ["C0001", "2024-04", "6500000.00", "0", "0", "0", "0", "1", "1", "1", "active"]]

    result = run(write(tmp_path / "april", {"monthly.csv": april}))

    assert result.ok, problems(result)
    assert _schema() == schema
    assert Customer.objects.get(customer_id="C0001").tier == "private"


# --- the factories others reuse ------------------------------------------------------------------


def test_every_factory_makes_a_consistent_row():
    from tests.customers import factories

    customer = factories.CustomerFactory()
    assert customer.rm.branch == customer.branch and customer.rm.role == Role.RM
    assert (customer.phone_tail, customer.id_tail) == (customer.phone[-4:], customer.id_number[-4:])
    assert factories.UserFactory(head=True).role == Role.HEAD
    assert factories.UserFactory(can_log_in=True).check_password("password")
    assert not factories.UserFactory().has_usable_password()
    assert factories.ProductFactory().is_ours and not factories.ProductFactory(competitor=True).is_ours
    assert not factories.ProductYieldFactory().product.is_ours
    holding = factories.HoldingFactory(customer=customer)
    assert holding.maturity_on == holding.start_on + dt.timedelta(days=holding.product.term_days)
    assert factories.MonthlyBalanceFactory(customer=customer).customer == customer
    assert factories.SurveyFactory(customer=customer).score == 9
    assert factories.AppointmentFactory(customer=customer).scheduled_on > dt.date.today() - dt.timedelta(days=1)
    assert factories.ContactLogFactory(customer=customer).staff == customer.rm
    for model in (*IMPORTED_MODELS, factories.ContactLog):
        for row in model.objects.all():
            row.full_clean(validate_unique=False)


@needs_postgres
def test_bulk_path_finds_each_customers_latest_month_whatever_the_row_order(tmp_path, bulk):
    files = bank()
    header, *rows = files["monthly.csv"]
    files["monthly.csv"] = [header, *sorted(rows, key=lambda row: (row[1], row[0]), reverse=True)]  # newest first

    result = run(write(tmp_path / "shuffled", files))

    assert result.ok, problems(result)
    c1 = Customer.objects.get(customer_id="C0001")
    assert (c1.latest_month, c1.latest_aum) == (dt.date(2024, 3, 1), Decimal("600000.00"))
