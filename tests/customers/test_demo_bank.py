"""The demo bank generator: deterministic, well-formed, and realistic enough to learn from.

No database: the generator is pure numpy/pyarrow and the command only writes files.
The churn label here is a small, independent reading of the definition in docs/churn-definition.md, so
these tests do not move when the churn engine's implementation does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from demo.bank import INTERCHANGE_COLUMNS, generate_demo_bank

END_MONTH = "2025-05"
TODAY = dt.date(2025, 6, 3)
TIER_FLOORS = [50_000, 500_000, 6_000_000]


def _generate(out: Path, *, customers: int, seed: int, months: int = 24, bank_name: str = "Demo Bank") -> dict:
    return generate_demo_bank(
        out, customers=customers, months=months, seed=seed, end_month=END_MONTH, today=TODAY, bank_name=bank_name,
        tier_floors=dict(zip(("gold", "platinum", "private"), TIER_FLOORS, strict=True)),
    )


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.glob("*.csv"))}


def _read(directory: Path, name: str) -> pd.DataFrame:
    """Everything as text, empty cells as "", so the file's own formatting is what is tested."""
    return pd.read_csv(directory / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bank")
    _generate(out, customers=5_000, seed=11)
    return out


@pytest.fixture(scope="module")
def files(bank) -> dict[str, pd.DataFrame]:
    """Every file of the 5,000-customer bank but monthly.csv, read once, as text."""
    return {name: _read(bank, name) for name in INTERCHANGE_COLUMNS if name != "monthly.csv"}


@pytest.fixture(scope="module")
def monthly(bank) -> pd.DataFrame:
    return pd.read_csv(bank / "monthly.csv", dtype={"customer_id": str})


def _tier(aum: np.ndarray) -> np.ndarray:
    return np.searchsorted(TIER_FLOORS, aum, side="right")


def _panels(monthly: pd.DataFrame) -> tuple[pd.Index, list[str], np.ndarray, np.ndarray]:
    """AUM and closed as (customers x months) arrays; NaN / False before a customer opened."""
    aum = monthly.pivot(index="customer_id", columns="month", values="aum")
    closed = monthly.pivot(index="customer_id", columns="month", values="status").eq("closed")
    return aum.index, list(aum.columns), aum.to_numpy(), closed.to_numpy()


def _churn_labels(monthly: pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """docs/churn-definition.md: within ``window`` months after month-end t, all accounts closed, or AUM below
    50% of its average over the 3 months up to t, or a lower tier at the end of the window.
    Only active customers with a 3-month history and an average of at least 1,000 CNY count."""
    customers, months, aum, closed = _panels(monthly)
    frames = []
    for t in range(2, len(months) - window):
        average = aum[:, t - 2 : t + 1].mean(axis=1)
        eligible = ~np.isnan(average) & ~closed[:, t] & (average >= 1_000)
        ahead = slice(t + 1, t + window + 1)
        churned = (
            closed[:, ahead].any(axis=1)
            | (aum[:, ahead] < 0.5 * average[:, None]).any(axis=1)
            | (_tier(aum[:, t + window]) < _tier(aum[:, t]))
        )
        frames.append(pd.DataFrame({"customer_id": customers[eligible], "t": t, "churned": churned[eligible]}))
    return pd.concat(frames, ignore_index=True)


def test_same_seed_gives_byte_identical_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _generate(first, customers=600, seed=3)
    _generate(second, customers=600, seed=3)
    assert _digests(first) == _digests(second)
    assert len(_digests(first)) == len(INTERCHANGE_COLUMNS)


def test_different_seed_gives_different_files(tmp_path):
    _generate(tmp_path / "a", customers=600, seed=3)
    _generate(tmp_path / "b", customers=600, seed=4)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    for name in ["customers.csv", "monthly.csv", "holdings.csv", "surveys.csv", "product_yields.csv"]:
        assert a[name] != b[name], name


def test_chunks_append_to_one_file_with_one_header_and_continuing_ids(tmp_path, monkeypatch):
    monkeypatch.setattr("demo.bank.CHUNK_SIZE", 250)
    _generate(tmp_path / "a", customers=600, seed=3, months=6)
    _generate(tmp_path / "b", customers=600, seed=3, months=6)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    customers = _read(tmp_path / "a", "customers.csv")
    assert list(customers["customer_id"]) == [f"C{i:09d}" for i in range(1, 601)]
    for name in INTERCHANGE_COLUMNS:
        text = (tmp_path / "a" / name).read_text(encoding="utf-8")
        assert text.count(INTERCHANGE_COLUMNS[name][0] + ",") == 1, name
    monthly = pd.read_csv(tmp_path / "a" / "monthly.csv")
    assert monthly["customer_id"].is_monotonic_increasing


def test_every_file_has_exactly_the_interchange_header(bank):
    for name, columns in INTERCHANGE_COLUMNS.items():
        with (bank / name).open(encoding="utf-8") as f:
            assert f.readline().rstrip("\n") == ",".join(columns), name


def test_returned_counts_are_the_data_rows_written(tmp_path):
    counts = _generate(tmp_path, customers=300, seed=5, months=12)
    for name, rows in counts.items():
        lines = (tmp_path / name).read_text(encoding="utf-8").count("\n")
        assert lines == rows + 1, name
    assert counts["customers.csv"] == 300


def test_references_between_files_hold(files, monthly):
    branches = files["branches.csv"]
    staff = files["staff.csv"]
    customers = files["customers.csv"]
    products = files["products.csv"]
    known_customers = set(customers["customer_id"])
    assert customers["customer_id"].is_unique and staff["staff_code"].is_unique
    assert products["product_code"].is_unique and branches["branch_code"].is_unique
    assert 6 <= len(branches) <= 12
    rms = staff[staff["role"] == "rm"]
    assert set(staff["role"]) == {"rm", "lobby", "head", "analyst"}
    assert (staff[staff["role"] == "head"].groupby("branch_code").size() == 1).all()
    assert (rms.groupby("branch_code").size() >= 2).all()
    assert set(staff["branch_code"]) == set(branches["branch_code"])
    rm_branch = dict(zip(rms["staff_code"], rms["branch_code"], strict=True))
    assert (customers["rm_code"].map(rm_branch) == customers["branch_code"]).all()
    assert set(monthly["customer_id"]) <= known_customers
    for name in ["holdings.csv", "surveys.csv", "appointments.csv"]:
        assert set(files[name]["customer_id"]) <= known_customers, name
    holdings = files["holdings.csv"]
    assert set(holdings["product_code"]) <= set(products["product_code"])
    assert set(files["product_yields.csv"]["product_code"]) <= set(products["product_code"])


def test_values_have_the_documented_formats(files):
    customers = files["customers.csv"]
    assert customers["id_number"].str.fullmatch(r"\d{17}[\dX]").all()
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    digits = np.array([[int(c) for c in s[:17]] for s in customers["id_number"]])
    assert ("".join("10X98765432"[i] for i in digits @ weights % 11) == "".join(customers["id_number"].str[17]))
    assert (customers["id_number"].str[6:14] == customers["birth_date"].str.replace("-", "")).all()
    assert customers["phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert set(customers["gender"]) == {"M", "F"}
    for column in ["region", "annual_income", "credit_score"]:
        assert 0 < (customers[column] == "").mean() < 0.5, column
    products = files["products.csv"]
    assert set(products["kind"]) == {"deposit", "wealth", "fund", "insurance", "loan", "card"}
    competitors = products[products["provider"] != "Demo Bank"]
    assert 3 <= competitors["provider"].nunique() <= 5
    assert set(competitors["kind"]) == {"deposit", "wealth", "fund"}
    assert competitors["yield_pct"].astype(float).between(1.0, 5.0).all()
    surveys = files["surveys.csv"]
    assert surveys["score"].astype(int).between(0, 10).all() and set(surveys["channel"]) == {"phone", "app", "branch"}
    appointments = files["appointments.csv"]
    assert set(appointments["kind"]) == {"cash_withdrawal", "transfer"}
    assert (appointments["amount"].astype(float) >= 50_000).all()


def test_balances_add_up_and_closed_customers_hold_nothing(monthly):
    cents = {c: (monthly[c] * 100).round().astype(np.int64) for c in ["aum", "deposit_balance", "wealth_balance"]}
    assert (cents["aum"] >= cents["deposit_balance"] + cents["wealth_balance"]).all()
    closed = monthly[monthly["status"] == "closed"]
    assert len(closed) > 0
    amounts = ["aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend", "txn_count",
               "digital_logins", "products_held"]
    assert (closed[amounts] == 0).all().all()
    # Once closed, always closed: rows continue to the last month.
    first_closed = closed.groupby("customer_id")["month"].min()
    after = monthly.merge(first_closed.rename("closed_from"), on="customer_id")
    assert (after.loc[after["month"] >= after["closed_from"], "status"] == "closed").all()
    assert (after.groupby("customer_id")["month"].max() == "2025-05").all()


def test_months_end_with_the_end_month_and_new_customers_start_when_they_open(files, monthly):
    months = sorted(monthly["month"].unique())
    assert len(months) == 24 and months[0] == "2023-06" and months[-1] == END_MONTH
    customers = files["customers.csv"].set_index("customer_id")
    first_month = monthly.groupby("customer_id")["month"].min()
    opened = customers["opened_on"].str[:7].loc[first_month.index]
    assert (first_month == opened.where(opened > months[0], months[0])).all()
    assert (opened > months[0]).mean() > 0.05


def _behaviour_segments(monthly: pd.DataFrame) -> pd.Series:
    """A crude reading of the segment from behaviour alone (the files have no segment column):
    a big wealth share = product, borrowing or card spending = consumption, neither = service."""
    active = monthly[monthly["status"] == "active"]
    mean = active.groupby("customer_id")[["aum", "wealth_balance", "loan_balance", "card_spend"]].mean()
    product = mean["wealth_balance"] / mean["aum"].clip(lower=1) >= 0.4
    consumption = ~product & ((mean["loan_balance"] > 0) | (mean["card_spend"] >= 2_000))
    return pd.Series(np.select([product, consumption], ["product", "consumption"], "service"), index=mean.index)


def test_all_four_tiers_and_all_three_segment_behaviours_exist(monthly):
    latest = monthly[(monthly["month"] == END_MONTH) & (monthly["status"] == "active")]
    tiers = np.bincount(_tier(latest["aum"].to_numpy()), minlength=4) / len(latest)
    assert tiers[0] > tiers[1] > tiers[2] > tiers[3] > 0  # mass .. private, private rare
    assert tiers[3] < 0.02
    segments = _behaviour_segments(monthly)
    shares = segments.value_counts(normalize=True)
    assert set(shares.index) == {"product", "consumption", "service"}
    assert shares.between(0.1, 0.6).all()
    # Consumption-like customers are far busier transactors than service-like ones.
    txns = monthly[monthly["status"] == "active"].groupby("customer_id")["txn_count"].mean()
    assert txns[segments == "consumption"].median() > 2 * txns[segments == "service"].median()


def test_service_customers_are_surveyed_in_branch_and_core_customers_more_often(files, monthly):
    surveys = files["surveys.csv"]
    latest = monthly[monthly["month"] == END_MONTH].set_index("customer_id")["aum"]
    per_customer = surveys.groupby("customer_id").size().reindex(latest.index, fill_value=0)
    core = latest >= 500_000
    assert per_customer[core].mean() > 2 * per_customer[~core].mean()
    in_branch = surveys["channel"].eq("branch").groupby(surveys["customer_id"].map(_behaviour_segments(monthly)))
    assert in_branch.mean()["service"] > in_branch.mean()["consumption"]
    assert surveys["comment"].str.len().gt(0).mean() > 0.5


def test_churn_rate_is_plausible_in_every_window(monthly):
    labels = _churn_labels(monthly)
    rates = labels.groupby("t")["churned"].mean()
    assert len(rates) == 24 - 2 - 3
    assert 0.05 <= rates.mean() <= 0.12
    assert rates.min() >= 0.04 and rates.max() <= 0.14


def test_some_customers_recover_to_last_months_aum_after_a_drop(monthly):
    _, _, aum, _ = _panels(monthly)
    dropped = aum[:, 1:-1] < 0.8 * aum[:, :-2]
    back = aum[:, 2:] >= aum[:, :-2]
    share = (dropped & back).any(axis=1).mean()
    assert 0.02 < share < 0.4


def _warning_signs(files: dict[str, pd.DataFrame], monthly: pd.DataFrame) -> pd.DataFrame:
    """For each labelled (customer, month-end t): which playbook warning signs were visible by t."""
    customers, months, aum, _ = _panels(monthly)
    logins = monthly.pivot(index="customer_id", columns="month", values="digital_logins").to_numpy()
    products = files["products.csv"]
    competitor_codes = set(products.loc[products["provider"] != "Demo Bank", "product_code"])
    holdings = files["holdings.csv"]
    holdings = holdings[holdings["product_code"].isin(competitor_codes)]
    surveys = files["surveys.csv"].sort_values(["customer_id", "surveyed_on"])
    surveys["score"] = surveys["score"].astype(int)
    appointments = files["appointments.csv"]
    labels = _churn_labels(monthly)
    labels = labels[labels["t"] >= 8]
    position = pd.Series(np.arange(len(customers)), index=customers)
    frames = []
    for t, group in labels.groupby("t"):
        end = pd.Period(months[t]).end_time.date().isoformat()
        start = pd.Period(months[t - 5]).start_time.date().isoformat()
        ahead = (pd.Period(months[t]) + 1).end_time.date().isoformat()
        ids = group["customer_id"]
        rows = position[ids].to_numpy()
        recent = holdings[(holdings["start_on"] > start) & (holdings["start_on"] <= end)]
        known = surveys[surveys["surveyed_on"] <= end].copy()
        known["previous"] = known.groupby("customer_id")["score"].shift()
        latest = known.groupby("customer_id").tail(1).set_index("customer_id")
        fell = latest["score"] <= latest["previous"] - 2
        booked = appointments[(appointments["scheduled_on"] > start) & (appointments["scheduled_on"] <= ahead)]
        earlier = logins[rows, t - 5 : t - 2].mean(axis=1)  # NaN (no sign) for newer customers
        frames.append(pd.DataFrame({
            "churned": group["churned"].to_numpy(),
            "competitor_holding": ids.isin(recent["customer_id"]).to_numpy(),
            "satisfaction_fell": ids.map(fell).eq(True).to_numpy(),
            "large_withdrawal_booked": ids.isin(booked["customer_id"]).to_numpy(),
            "fewer_logins": (logins[rows, t] < 0.6 * earlier),
            "aum_sagging": aum[rows, t] < 0.8 * np.nanmax(aum[rows, t - 5 : t + 1], axis=1),
        }))
    return pd.concat(frames, ignore_index=True)


def test_churners_show_more_warning_signs_than_loyal_customers_but_not_all_of_them(files, monthly):
    signs = _warning_signs(files, monthly)
    churners, loyal = signs[signs["churned"]], signs[~signs["churned"]]
    names = ["competitor_holding", "satisfaction_fell", "large_withdrawal_booked", "fewer_logins", "aum_sagging"]
    for name in names:
        in_churners, in_loyal = churners[name].mean(), loyal[name].mean()
        assert 0 < in_loyal < in_churners < 1, (name, in_churners, in_loyal)
    count = churners[names].sum(axis=1)
    assert 0.05 < (count == 0).mean() < 0.6  # some leave with no visible sign
    assert (count == len(names)).mean() < 0.05  # hardly anyone shows everything
    assert (loyal[names].sum(axis=1) > 0).mean() > 0.05  # false alarms exist


def test_lobby_has_bookings_for_today_and_tomorrow(files):
    appointments = files["appointments.csv"]
    days = set(appointments["scheduled_on"])
    assert TODAY.isoformat() in days and (TODAY + dt.timedelta(days=1)).isoformat() in days
    assert not appointments.duplicated(["customer_id", "kind", "scheduled_on"]).any()
    assert not files["holdings.csv"].duplicated(["customer_id", "product_code", "start_on"]).any()
    assert not files["surveys.csv"].duplicated(["customer_id", "surveyed_on", "channel"]).any()


def test_competitor_wealth_yields_are_sometimes_above_ours_for_the_same_term(files):
    products = files["products.csv"].set_index("product_code")
    yields = files["product_yields.csv"].join(products[["provider", "kind", "term_days"]], on="product_code")
    assert yields.groupby("product_code").size().eq(24).all()
    wealth = yields[yields["kind"] == "wealth"].assign(yield_pct=lambda f: f["yield_pct"].astype(float))
    ours = wealth[wealth["provider"] == "Demo Bank"].set_index(["month", "term_days"])["yield_pct"]
    theirs = wealth[wealth["provider"] != "Demo Bank"]
    our_yield = ours.reindex(pd.MultiIndex.from_frame(theirs[["month", "term_days"]])).to_numpy()
    assert 0.1 < (theirs["yield_pct"].to_numpy() > our_yield).mean() < 0.9


def test_bank_name_is_the_provider_of_our_products(tmp_path):
    _generate(tmp_path, customers=50, seed=1, months=6, bank_name="Harbour Bank, Ltd.")
    products = pd.read_csv(tmp_path / "products.csv")
    assert (products["provider"] == "Harbour Bank, Ltd.").sum() == 15


def test_command_writes_the_files_and_reports_row_counts(tmp_path):
    stdout = io.StringIO()
    call_command(
        "make_demo_bank", out=str(tmp_path), customers=120, months=6, seed=2, end="2025-05", today="2025-06-03",
        stdout=stdout, stderr=io.StringIO(),
    )
    output = stdout.getvalue()
    assert "customers.csv" in output and "120" in output
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == sorted(INTERCHANGE_COLUMNS)


def test_command_default_end_is_the_month_before_today(tmp_path):
    call_command("make_demo_bank", out=str(tmp_path), customers=20, months=4, seed=2, today="2025-03-15",
                 stdout=io.StringIO(), stderr=io.StringIO())
    months = pd.read_csv(tmp_path / "monthly.csv")["month"]
    assert months.max() == "2025-02" and months.min() == "2024-11"
