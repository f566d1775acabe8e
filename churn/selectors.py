"""Reads for the churn engine: database rows -> the DataFrames ``churn.features`` takes.

On PostgreSQL each frame is one ``COPY (SELECT ...) TO STDOUT`` parsed by
pyarrow's CSV reader (several times faster than fetching tuples through the
driver); on SQLite a plain cursor. Either way: one query per table per chunk,
no ORM objects, customer keys are integer primary keys.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
from django.db import connection
from django.db.models import Max

from churn import conf
from churn.features import BOOKING_HORIZON_DAYS, HISTORY_MONTHS, BankFrames
from churn.models import ChurnScore, ModelVersion, NightlyRun
from core.months import last_complete_month
from customers.models import Customer, CustomerStatus

_CUSTOMERS_SQL = """
    SELECT id AS customer_id, gender, birth_date, opened_on, annual_income, credit_score, region,
           CASE WHEN segment_override <> '' THEN segment_override ELSE segment END AS segment
    FROM customers_customer WHERE id BETWEEN %s AND %s {only} {status}
"""
_MONTHLY_SQL = """
    SELECT customer_id, month, aum, deposit_balance, wealth_balance, loan_balance, card_spend, txn_count,
           digital_logins, products_held, status, aum_month_avg
    FROM customers_monthlybalance WHERE customer_id BETWEEN %s AND %s {only} AND month >= %s AND month <= %s
"""
_PRODUCTS_SQL = "SELECT product_code, provider, is_ours, kind, yield_pct, term_days FROM customers_product"
_HOLDINGS_SQL = """
    SELECT h.customer_id, p.product_code, h.amount, h.start_on, h.maturity_on
    FROM customers_holding h JOIN customers_product p ON p.id = h.product_id
    WHERE h.customer_id BETWEEN %s AND %s {only} AND h.start_on <= %s AND (h.maturity_on IS NULL OR h.maturity_on > %s)
"""
_SURVEYS_SQL = """
    SELECT customer_id, surveyed_on, score FROM customers_survey
    WHERE customer_id BETWEEN %s AND %s {only} AND surveyed_on <= %s AND surveyed_on > %s
"""
_APPOINTMENTS_SQL = """
    SELECT customer_id, kind, amount, scheduled_on FROM customers_appointment
    WHERE customer_id BETWEEN %s AND %s {only} AND scheduled_on > %s AND scheduled_on <= %s
"""
_CONTACTS_SQL = """
    SELECT customer_id, contacted_at, channel, result FROM customers_contactlog
    WHERE customer_id BETWEEN %s AND %s {only} AND contacted_at < %s
"""
_DATE_COLUMNS = {"birth_date", "opened_on", "month", "start_on", "maturity_on", "surveyed_on", "scheduled_on"}


def _read_frame(sql: str, params: list, columns: list[str]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            query = cursor.mogrify(sql, params).decode()
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
            buffer.seek(0)
            frame = pd.read_csv(buffer, engine="pyarrow")
            if frame.empty:
                frame = pd.DataFrame(columns=columns)
        else:
            cursor.execute(sql, params)
            frame = pd.DataFrame(cursor.fetchall(), columns=columns)
    for column in frame.columns:
        if column in _DATE_COLUMNS:
            frame[column] = pd.to_datetime(frame[column])
        elif column == "contacted_at":
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(None)
        elif column == "is_ours":
            frame[column] = frame[column].map({True: True, False: False, "t": True, "f": False})
    for column in ("aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend", "amount",
                   "annual_income", "yield_pct", "aum_month_avg"):
        if column in frame.columns and frame[column].dtype == object:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def bank_frames_for_customers(
    *, first_id: int, last_id: int, as_of: date, only_active: bool = True, months: int | None = HISTORY_MONTHS,
    data_month: date | None = None, customer_ids: list[int] | None = None,
) -> BankFrames:
    """Everything ``build_features`` needs for customers with ``first_id <= pk <= last_id`` as of ``as_of``.

    Reads only what can matter at ``as_of``: ``months`` months of balances up to
    the last complete month (all of them when ``months`` is None, for training),
    live holdings, surveys of the last two years, appointments of the next two
    weeks. Training passes ``as_of`` = the last day of the data and
    ``months=None`` and gets the whole history. ``data_month``: the latest month
    of balances to read when it is earlier than the last complete month (the
    export has not arrived yet; see ``features.data_month_for``). ``customer_ids``:
    only these customers of the range (a few scattered ones, e.g. to explain them).
    """
    cutoff = last_complete_month(as_of)
    if data_month is not None:
        cutoff = min(cutoff, pd.Timestamp(data_month).to_period("M").to_timestamp())
    first_month = date(1900, 1, 1) if months is None else (cutoff - pd.DateOffset(months=months - 1)).date()
    ids: list = [first_id, last_id]
    only = ""
    if customer_ids is not None and connection.vendor == "postgresql":
        only, ids = "AND {column} = ANY(%s)", [*ids, list(customer_ids)]
    status = f"AND status = '{CustomerStatus.ACTIVE}'" if only_active else ""
    # Training needs the holdings, surveys and bookings of every month-end, not just the last.
    history_start = first_month if months is None else as_of - timedelta(days=2 * 365)
    live_after = history_start if months is None else as_of
    booking_from = history_start if months is None else as_of
    contacts_before = pd.Timestamp(as_of) + pd.Timedelta(days=1)

    def sql(template: str, column: str = "customer_id") -> str:
        return template.format(only=only.format(column=column), status=status)

    frames = BankFrames(
        customers=_read_frame(sql(_CUSTOMERS_SQL, "id"), ids, [
            "customer_id", "gender", "birth_date", "opened_on", "annual_income", "credit_score", "region", "segment",
        ]),
        monthly=_read_frame(sql(_MONTHLY_SQL), [*ids, first_month, cutoff.date()], [
            "customer_id", "month", "aum", "deposit_balance", "wealth_balance", "loan_balance", "card_spend",
            "txn_count", "digital_logins", "products_held", "status", "aum_month_avg",
        ]),
        products=_read_frame(_PRODUCTS_SQL, [], ["product_code", "provider", "is_ours", "kind", "yield_pct",
                                                "term_days"]),
        holdings=_read_frame(sql(_HOLDINGS_SQL, "h.customer_id"), [*ids, as_of, live_after], [
            "customer_id", "product_code", "amount", "start_on", "maturity_on",
        ]),
        surveys=_read_frame(sql(_SURVEYS_SQL), [*ids, as_of, history_start], ["customer_id", "surveyed_on", "score"]),
        appointments=_read_frame(
            sql(_APPOINTMENTS_SQL), [*ids, booking_from, as_of + timedelta(days=BOOKING_HORIZON_DAYS)],
            ["customer_id", "kind", "amount", "scheduled_on"],
        ),
        contacts=_read_frame(sql(_CONTACTS_SQL), [*ids, contacts_before.to_pydatetime()],
                             ["customer_id", "contacted_at", "channel", "result"]),
    )
    if customer_ids is not None and not only:  # SQLite: the range was read, keep just these customers
        frames.customers = frames.customers[frames.customers["customer_id"].isin(customer_ids)]
    return frames


def active_customer_id_ranges(*, chunk_size: int, after_id: int = 0) -> list[tuple[int, int]]:
    """Consecutive ``(first_id, last_id)`` ranges of about ``chunk_size`` active customers with pk > ``after_id``.

    Numbered in the database (one row per range comes back, not a million ids).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MIN(id), MAX(id) FROM (SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS chunk "
            "FROM customers_customer WHERE status = %s AND id > %s) numbered GROUP BY chunk ORDER BY chunk",
            [int(chunk_size), CustomerStatus.ACTIVE.value, int(after_id)],
        )
        return [(int(first), int(last)) for first, last in cursor.fetchall()]


def customer_id_bounds(*, limit: int | None = None) -> tuple[int, int] | None:
    """Smallest and largest customer pk (of the first ``limit`` customers by pk, if given)."""
    from customers.models import Customer

    pks = Customer.objects.order_by("pk").values_list("pk", flat=True)
    first = pks.first()
    if first is None:
        return None
    last = pks[limit - 1 : limit].first() if limit else None
    return first, last or Customer.objects.aggregate(m=Max("pk"))["m"]


def latest_data_month(*, before: date | None = None) -> date | None:
    """The latest month with monthly balances (of those complete by ``before``, if given)."""
    from customers.models import MonthlyBalance

    rows = MonthlyBalance.objects.all()
    if before is not None:
        rows = rows.filter(month__lte=last_complete_month(before).date())
    return rows.aggregate(m=Max("month"))["m"]


def model_version_active() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def nightly_run_get(*, run_date: date) -> NightlyRun | None:
    return NightlyRun.objects.filter(run_date=run_date).first()


def customer_score_history(
    *, customer: Customer, month_ends: int = 24
) -> tuple[ChurnScore | None, list[ChurnScore]]:
    """The customer's latest score and their score history, newest first: one score per
    night for as long as daily scores are kept (``CHURN_DAILY_SCORE_RETENTION_DAYS``), then
    the last ``month_ends`` month-end scores before that (older daily scores are pruned).
    One query."""
    nights = conf.daily_score_retention_days()
    scores = list(
        customer.churn_scores.order_by("-scored_on")
        .only("scored_on", "probability", "risk_band", "expected_aum_at_risk", "reasons", "is_month_end",
              "customer_id")[: nights + month_ends + 1]
    )
    latest = scores[0] if scores else None
    if latest is None:
        return None, []
    since = latest.scored_on - timedelta(days=nights)
    nightly = [s for s in scores if s.scored_on > since]
    older_month_ends = [s for s in scores if s.scored_on <= since and s.is_month_end][:month_ends]
    return latest, nightly + older_month_ends


def model_version_report(*, version: ModelVersion) -> dict:
    """Everything the analyst page charts for one model version, JSON-ready.

    ``lift_curve``: points (share of customers contacted, precision, recall, lift),
    ``calibration``: points (mean predicted, observed churn rate, count) per
    decile of prediction, ``feature_importance``: mean |contribution| in log-odds
    on the evaluation month, strongest first; ``headline``: the GBM's and the
    baselines' figures side by side.
    """
    metrics = version.metrics or {}
    headline_keys = ("n", "base_rate", "roc_auc", "pr_auc", "brier", "precision_top10", "recall_top10",
                     "lift_top10", "precision_top20", "recall_top20", "lift_top20")
    headline = {"model": {key: metrics.get(key) for key in headline_keys}}
    headline.update(version.baselines or {})
    return {
        "id": version.pk,
        "algorithm": version.algorithm,
        "created_at": version.created_at.isoformat() if version.created_at else None,
        "is_active": version.is_active,
        "activation_note": version.activation_note,
        "train_months": version.train_months,
        "evaluation_month": version.evaluation_month.isoformat() if version.evaluation_month else None,
        "parameters": version.parameters,
        "headline": headline,
        # Every model fitted on the same rows (the gradient-boosted one and both baselines) with
        # its PR AUC interval, which of them scores, and how they were evaluated.
        "candidates": metrics.get("candidates") or {},
        "champion": metrics.get("champion") or "gradient_boosting",
        "evaluation_method": metrics.get("evaluation_method") or "time_split",
        "lift_curve": metrics.get("lift_curve", []),
        "calibration": metrics.get("calibration", []),
        "feature_importance": metrics.get("feature_importance", []),
        "explainer": metrics.get("explainer"),
    }
