#!/usr/bin/env python
"""Response time of the branch dashboard's figures on big branches.

Fills a PostgreSQL database (migrated here; it must exist and be empty of customers) with
``--branches`` branches of ``--customers`` customers each (40 RMs, a head and a lobby
manager per branch), two years of retention cases (up to four episodes per customer,
one in ten held out, half of the shown ones worked, outcomes measured at the end of the
churn window) and four nights of scores for every customer, all in set-based SQL. Then
times ``retention.dashboard.branch_dashboard`` (every figure of the page: tiles, per-owner
table, risk bands, six-month trend, shown vs held-out report) for a branch head and for
an administrator (the whole bank), this month and a past one, ``--requests`` times each,
and prints the median and 95th percentile and the slowest query of one call. The dashboard
summaries are rewritten first, as the nightly job does last (the time is printed).

    .venv/bin/python benchmarks/dashboard_bench.py --database-url postgres://postgres@127.0.0.1:5432/bench_dashboard
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TODAY = dt.date(2026, 9, 20)
RMS_PER_BRANCH = 40


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def fill(cursor, *, branches: int, customers: int) -> None:
    start = TODAY - dt.timedelta(days=600)
    cursor.execute(
        "INSERT INTO customers_branch (code, name, city) SELECT 'BR' || lpad(b::text, 3, '0'), 'Branch ' || b, "
        "'Shanghai' FROM generate_series(1, %s) b", [branches])
    cursor.execute(
        """
        INSERT INTO customers_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                    is_active, date_joined, staff_code, display_name, role, branch_id)
        SELECT '!', false, lower(r.role) || '_' || b.code || '_' || r.n, '', '', '', false, true, now(),
               b.code || '-' || r.role || r.n, r.role || ' ' || r.n || ' ' || b.code, r.role, b.id
        FROM customers_branch b
        CROSS JOIN (SELECT 'rm' AS role, n FROM generate_series(1, %s) n
                    UNION ALL SELECT 'head', 1 UNION ALL SELECT 'lobby', 1) r
        """, [RMS_PER_BRANCH])
    cursor.execute(
        "INSERT INTO customers_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined, display_name, role) VALUES ('!', true, 'bench_admin', '', '', '', true, true, "
        "now(), 'Admin', 'admin')")
    # Customers: one in fifty without an RM (the head owns their cases).
    cursor.execute(
        """
        INSERT INTO customers_customer (customer_id, name, gender, birth_date, id_number, phone, phone_tail, id_tail,
            opened_on, region, segment, segment_override, segment_override_reason, tier, status, latest_aum,
            branch_id, rm_id)
        SELECT 'C' || b.id || '-' || i, 'Customer ' || i, 'F', date '1980-01-01', '', '', '', '',
               date '2015-01-01', '', 'product', '', '', 'gold', 'active', 100000, b.id,
               CASE WHEN i %% 50 = 0 THEN NULL ELSE (
                   SELECT u.id FROM customers_user u WHERE u.branch_id = b.id AND u.role = 'rm'
                   AND u.username = 'rm_' || b.code || '_' || (1 + i %% %s)) END
        FROM customers_branch b CROSS JOIN generate_series(1, %s) i
        """, [RMS_PER_BRANCH, customers])
    cursor.execute("SELECT id FROM retention_playbook ORDER BY key")
    playbooks = [row[0] for row in cursor.fetchall()]
    # Episodes k = 0..3, 150 days apart, each with probability one half; only the last can
    # still be open on TODAY, so a customer has at most one open case.
    cursor.execute(
        """
        CREATE TEMP TABLE episodes AS
        SELECT c.id AS customer_id, c.branch_id,
               COALESCE(c.rm_id, (SELECT u.id FROM customers_user u WHERE u.branch_id = c.branch_id
                                  AND u.role = 'head')) AS owner_id,
               (%s::date + k * 150 + floor(random() * 120)::int) AS opened_on,
               5 + floor(random() * 85)::int AS days_open, random() < 0.1 AS is_control, random() AS r1,
               random() AS r2, random() AS r3, (%s::bigint[])[1 + floor(random() * %s)::int] AS playbook_id
        FROM customers_customer c CROSS JOIN generate_series(0, 3) k
        WHERE random() < 0.5
        """, [start, playbooks, len(playbooks)])
    cursor.execute(
        """
        INSERT INTO retention_case (kind, status, opened_on, last_signal_on, leading_kind, probability, aum,
            aum_at_risk, expected_aum_at_risk, save_rate, contact_cost, priority, urgent, in_budget, is_control,
            control_period, control_draw, close_reason, closed_at, worked_at, window_start_month, window_ends_on,
            outcome, outcome_measured_on, aum_at_window_start, aum_kept, created_at, updated_at, branch_id,
            customer_id, owner_id, playbook_id)
        SELECT 'retention',
               CASE WHEN opened_on + days_open > %(today)s THEN 'open' ELSE 'cleared' END,
               opened_on, opened_on, 'model_risk', 0.4, 100000, 100000, 40000, 0.15, 50, 5950, false, false,
               is_control, date_trunc('quarter', opened_on)::date, CASE WHEN is_control THEN 0.05 ELSE 0.5 END, '',
               CASE WHEN opened_on + days_open > %(today)s THEN NULL
                    ELSE (opened_on + days_open)::timestamp AT TIME ZONE 'Asia/Shanghai' END,
               CASE WHEN NOT is_control AND r1 < 0.5 AND opened_on + 2 <= %(today)s
                    THEN (opened_on + 2)::timestamp AT TIME ZONE 'Asia/Shanghai' END,
               (date_trunc('month', opened_on) - interval '1 month')::date,
               (date_trunc('month', opened_on) + interval '3 months' - interval '1 day')::date,
               CASE WHEN (date_trunc('month', opened_on) + interval '3 months')::date <= %(today)s AND r2 < 0.95
                    THEN CASE WHEN r3 < 0.7 THEN 'retained' ELSE 'lost' END ELSE '' END,
               NULL, 100000, CASE WHEN r3 < 0.7 THEN 100000 ELSE 20000 END, now(), now(), branch_id, customer_id,
               owner_id, playbook_id
        FROM episodes
        """, {"today": TODAY})
    cursor.execute("UPDATE retention_case SET aum_at_window_start = NULL, aum_kept = NULL WHERE outcome = ''")
    cursor.execute("UPDATE retention_case SET outcome_measured_on = window_ends_on + 1 WHERE outcome <> ''")
    nights = [(dt.date(2026, 6, 30), True), (dt.date(2026, 7, 31), True), (dt.date(2026, 8, 31), True),
              (TODAY - dt.timedelta(days=1), False)]
    for day, is_month_end in nights:
        cursor.execute(
            """
            INSERT INTO churn_churnscore (scored_on, probability, risk_band, aum, expected_aum_at_risk, reasons,
                                          is_month_end, customer_id, model_version_id)
            SELECT %s, p, CASE WHEN p >= 0.3 THEN 'high' WHEN p >= 0.1 THEN 'medium' ELSE 'low' END, 100000,
                   round((p * 100000)::numeric, 2), '[]'::jsonb, %s, id, 1
            FROM (SELECT id, random() ^ 2 AS p FROM customers_customer) s
            """, [day, is_month_end])
    cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_dashboard")
    parser.add_argument("--branches", type=int, default=3)
    parser.add_argument("--customers", type=int, default=80_000, help="customers per branch")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from customers.models import User
    from retention.dashboard import branch_dashboard
    from retention.models import Case
    from retention.summary import dashboard_summary_refresh

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        if cursor.fetchone()[0] == 0:
            started = time.perf_counter()
            fill(cursor, branches=args.branches, customers=args.customers)
            print(f"filled in {time.perf_counter() - started:.1f} s")
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'open') FROM retention_case")
        cases, open_cases = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM customers_customer")
        customers = cursor.fetchone()[0]
    print(f"{customers:,} customers, {cases:,} cases ({open_cases:,} open)")
    # What the nightly job does last: the summaries the dashboard reads (every night's scores here).
    started = time.perf_counter()
    counts = dashboard_summary_refresh(today=TODAY)
    print(f"dashboard summaries rewritten in {time.perf_counter() - started:.1f} s: {counts}", flush=True)

    head = User.objects.filter(role="head").order_by("pk").first()
    admin = User.objects.get(username="bench_admin")
    branch_cases = Case.objects.filter(branch_id=head.branch_id).count()
    print(f"head's branch: {branch_cases:,} cases")
    for label, user in (("head (one branch)", head), ("administrator (bank)", admin)):
        for month in (TODAY.replace(day=1), dt.date(2026, 5, 1)):
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                branch_dashboard(user=user, month=month, today=TODAY)
                times.append((time.perf_counter() - started) * 1000)
            timings: list[tuple[float, str]] = []

            def timed(execute, sql, params, many, context, timings=timings):
                t0 = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    timings.append(((time.perf_counter() - t0) * 1000, sql))

            with connection.execute_wrapper(timed):
                branch_dashboard(user=user, month=month, today=TODAY)
            slowest = max(timings)
            print(f"{label:22} {month:%Y-%m}: median {statistics.median(times):7.1f} ms, "
                  f"p95 {percentile(times, 0.95):7.1f} ms, {len(timings)} queries, slowest {slowest[0]:.1f} ms: "
                  f"{slowest[1][:90]}...")


if __name__ == "__main__":
    main()
