#!/usr/bin/env python
"""Response times of the pages branch staff open most, on a big bank.

Uses a PostgreSQL database that already holds a large bank with churn scores
(``benchmarks/nightly_bench.py`` leaves 1,000,000 customers scored in
``bench_nightly``). If the database has fewer open alerts than ``--alerts``, it
adds model-risk alerts for the highest-scored customers (set-based SQL, the
same columns the nightly job fills), then times, through Django's test client
(the whole view, templates and SQL, without a network hop):

- an RM's daily list (``/alerts/``),
- the customer 360 of customers on that RM's list (``/customers/<pk>/``),
- the lobby's walk-in lookup (``/lookup/results/?q=<4 digits or a name>``),

each ``--requests`` times, and prints median and 95th percentile.

    .venv/bin/python benchmarks/pages_bench.py --requests 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def ensure_alerts(cursor, wanted: int) -> int:
    cursor.execute("SELECT count(*) FROM retention_alert WHERE status IN ('open', 'in_progress')")
    have = cursor.fetchone()[0]
    if have >= wanted:
        return have
    cursor.execute("SELECT max(scored_on) FROM churn_churnscore")
    scored_on = cursor.fetchone()[0]
    cursor.execute("SELECT id FROM retention_playbook WHERE key = 'segment_product'")
    playbook_id = cursor.fetchone()[0]
    cursor.execute(
        """
        INSERT INTO retention_alert (
            kind, owner_role, status, raised_on, last_triggered_on, trigger_count, probability, aum, aum_at_risk,
            expected_aum_at_risk, reasons, details, priority, rank, ranked_on, in_budget, is_control, control_draw,
            dismiss_reason, close_reason, window_start_month, window_ends_on, outcome, created_at, updated_at,
            branch_id, customer_id, owner_id, playbook_id)
        SELECT 'model_risk', 'rm', 'open', s.scored_on, s.scored_on, 1, s.probability, s.aum, s.aum,
               s.expected_aum_at_risk, s.reasons, jsonb_build_object('risk_band', s.risk_band),
               s.expected_aum_at_risk::float8 * 0.15,
               row_number() OVER (PARTITION BY c.rm_id ORDER BY s.expected_aum_at_risk DESC),
               s.scored_on, false, false, 0.5, '', '', date_trunc('month', s.scored_on)::date,
               (s.scored_on + interval '3 months')::date, '', now(), now(), c.branch_id, c.id, c.rm_id, %s
        FROM churn_churnscore s JOIN customers_customer c ON c.id = s.customer_id
        WHERE s.scored_on = %s AND c.rm_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM retention_alert a WHERE a.customer_id = c.id AND a.kind = 'model_risk')
        ORDER BY s.probability DESC
        LIMIT %s
        """,
        [playbook_id, scored_on, wanted - have],
    )
    cursor.execute("UPDATE retention_alert SET in_budget = (rank <= 15) WHERE rank IS NOT NULL")
    cursor.execute("ANALYZE retention_alert")
    return wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_nightly")
    parser.add_argument("--alerts", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    import django

    django.setup()
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import setup_test_environment

    from customers.models import Customer, Role, User

    setup_test_environment()  # allows the test client's host 'testserver'
    with transaction.atomic(), connection.cursor() as cursor:
        open_alerts = ensure_alerts(cursor, args.alerts)
    customers = Customer.objects.count()

    rm = (
        User.objects.filter(role=Role.RM, retention_alerts__status="open")
        .annotate(n=Count("retention_alerts"))
        .order_by("-n")
        .first()
    )
    lobby = User.objects.filter(role=Role.LOBBY, branch_id=rm.branch_id).first()
    customer_ids = list(
        Customer.objects.filter(rm=rm, alerts__status="open").values_list("pk", flat=True)[: args.requests]
    )
    tails = list(Customer.objects.filter(branch_id=rm.branch_id).values_list("phone_tail", "name")[: args.requests])

    rm_client, lobby_client = Client(), Client()
    rm_client.force_login(rm)
    lobby_client.force_login(lobby)

    def timed(client: Client, urls: list[str]) -> list[float]:
        client.get(urls[0])  # warm caches once, as a morning's first click would
        times = []
        for url in urls:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
        return times

    n = args.requests
    filters = ["", "?status=open", "?band=high", "?segment=product", "?page=2"]
    results = {
        "RM daily list": timed(rm_client, [f"/alerts/{filters[i % len(filters)]}" for i in range(n)]),
        "customer 360": timed(rm_client, [f"/customers/{customer_ids[i % len(customer_ids)]}/" for i in range(n)]),
        "walk-in lookup": timed(
            lobby_client,
            [f"/lookup/results/?q={(tails[i % len(tails)][0] if i % 2 else tails[i % len(tails)][1][:2])}"
             for i in range(n)],
        ),
    }
    print(f"database: {customers:,} customers, {open_alerts:,} open alerts; RM {rm.username} "
          f"({len(customer_ids)} customers with open alerts); {n} requests per page")
    print(f"{'page':<16} {'median ms':>10} {'p95 ms':>10} {'max ms':>10}")
    for name, times in results.items():
        print(f"{name:<16} {statistics.median(times):>10.1f} {percentile(times, 0.95):>10.1f} {max(times):>10.1f}")
    print("load average (1, 5, 15 min): " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
