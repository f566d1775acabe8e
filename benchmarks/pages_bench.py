#!/usr/bin/env python
"""Response times of every page and API list of every role, on a big bank after a real night.

    .venv/bin/python benchmarks/pages_bench.py --database-url postgres://postgres@127.0.0.1:5432/bench_nightly

Uses a PostgreSQL database that holds a large bank with the cases a real night left
(``benchmarks/nightly_bench.py`` leaves 1,000,000 customers in ``bench_nightly``). Takes
the branch with the most open cases and, as its staff (the RM with the most open cases,
the lobby manager, the head) and an analyst, requests each page and API list of their role
``--requests`` times through Django's test client (the whole view, templates and SQL,
without a network hop), after one warm-up request, and prints median and p95 in ms and
the number of SQL queries each request ran (a fixed number whatever the rows is the
target). Target: p95 < 150 ms on a branch of 80,000+ customers.
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


def pages(*, rm, lobby, head, analyst, month: str, model_id: int | None) -> dict[str, tuple[object, list[str]]]:
    """name -> (user, the URLs it cycles through)."""
    from customers.models import Customer
    from retention.models import OPEN_STATUSES, Case

    rm_customers = list(Case.objects.filter(owner=rm, status__in=OPEN_STATUSES, is_control=False)
                        .values_list("customer_id", flat=True)[:50])
    branch = list(Customer.objects.filter(branch_id=head.branch_id).values_list("pk", "phone_tail", "name")[:50])
    lookups = [tail for _, tail, _ in branch if tail] + [name[:2] for _, _, name in branch if name]
    table: dict[str, tuple[object, list[str]]] = {
        "RM: cases": (rm, ["/cases/"]),
        "RM: cases, page 2": (rm, ["/cases/?page=2"]),
        "RM: cases, filtered": (rm, ["/cases/?segment=product", "/cases/?status=in_progress"]),
        "RM: customer 360": (rm, [f"/customers/{pk}/" for pk in rm_customers]),
        "RM: cases export (CSV)": (rm, ["/cases/export.csv"]),
        "RM: API cases": (rm, ["/api/v1/cases/"]),
        "RM: API tasks": (rm, ["/api/v1/tasks/"]),
        "lobby: lookup page": (lobby, ["/lookup/"]),
        # The query travels in a POST body (never in the URL): see ``post`` below.
        "lobby: walk-in lookup": (lobby, [f"POST /lookup/results/ q={query}" for query in lookups]),
        "lobby: interceptions": (lobby, ["/interceptions/"]),
        "lobby: customer 360": (lobby, [f"/customers/{pk}/" for pk, _, _ in branch]),
        "lobby: API appointments": (lobby, ["/api/v1/appointments/"]),
        "head: dashboard": (head, ["/dashboard/"]),
        "head: dashboard, last month": (head, [f"/dashboard/?month={month}"]),
        "head: callbacks": (head, ["/callbacks/"]),
        "head: branch cases": (head, ["/cases/"]),
        "head: branch cases, page 5": (head, ["/cases/?page=5"]),
        "head: competitors": (head, ["/competitors/"]),
        "head: API cases": (head, ["/api/v1/cases/"]),
        "head: API tasks": (head, ["/api/v1/tasks/"]),
        "head: API dashboard": (head, ["/api/v1/dashboard/"]),
        "head: API customers": (head, ["/api/v1/customers/"]),
        "analyst: dashboard": (analyst, ["/dashboard/"]),
        "analyst: models": (analyst, ["/analyst/models/"]),
        "analyst: API retention report": (analyst, ["/api/v1/retention-report/"]),
        "analyst: API model versions": (analyst, ["/api/v1/model-versions/"]),
        "analyst: API nightly runs": (analyst, ["/api/v1/nightly-runs/"]),
    }
    if model_id is not None:
        table["analyst: model page"] = (analyst, [f"/analyst/models/{model_id}/"])
        table["analyst: model card"] = (analyst, [f"/analyst/models/{model_id}/card/"])
        table["analyst: API model monitoring"] = (analyst, [f"/api/v1/model-versions/{model_id}/monitoring/"])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_nightly")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--only", help="only the pages whose name contains this")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from churn.models import ModelVersion
    from core.months import add_months
    from customers.models import Customer, Role, User
    from retention.models import OPEN_STATUSES, Case

    setup_test_environment()  # allows the test client's host 'testserver'
    busiest = (Case.objects.filter(status__in=OPEN_STATUSES, is_control=False).values("branch_id")
               .annotate(n=Count("pk")).order_by("-n").first())
    if busiest is None:
        raise SystemExit("no open cases: run a night first (benchmarks/nightly_bench.py)")
    branch_id = busiest["branch_id"]
    rm = (User.objects.filter(role=Role.RM, branch_id=branch_id, retention_cases__status__in=OPEN_STATUSES)
          .annotate(n=Count("retention_cases")).order_by("-n").first())
    lobby = User.objects.filter(role=Role.LOBBY, branch_id=branch_id).first()
    head = User.objects.filter(role=Role.HEAD, branch_id=branch_id).first()
    analyst = User.objects.filter(role=Role.ANALYST).first() or User.objects.create(
        username="bench_analyst", role=Role.ANALYST)
    latest = Case.objects.order_by("-opened_on").values_list("opened_on", flat=True).first()
    model = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    table = pages(rm=rm, lobby=lobby, head=head, analyst=analyst, month=f"{add_months(latest, -1):%Y-%m}",
                  model_id=model)
    clients: dict[int, Client] = {}
    print(f"database: {Customer.objects.count():,} customers; branch {branch_id}: "
          f"{Customer.objects.filter(branch_id=branch_id).count():,} customers, {busiest['n']:,} open shown cases; "
          f"RM {rm.username}: {rm.n:,} open cases; {args.requests} requests per page")
    print(f"{'page':<34} {'median ms':>10} {'p95 ms':>10} {'max ms':>8} {'queries':>8}")
    worst = 0.0
    for name, (user, urls) in table.items():
        if args.only and args.only not in name:
            continue
        if not urls:
            print(f"{name:<34} (nothing to open)")
            continue
        client = clients.get(user.pk)
        if client is None:
            client = clients[user.pk] = Client()
            client.force_login(user)
        # Warm caches once, as a morning's first click would.
        if urls[0].startswith("POST "):
            client.post(urls[0][5:].partition(" q=")[0], {"q": urls[0].partition(" q=")[2]})
        else:
            client.get(urls[0])
        times, queries = [], set()
        for i in range(args.requests):
            url = urls[i % len(urls)]
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                if url.startswith("POST "):
                    path, _, query = url[5:].partition(" q=")
                    response = client.post(path, {"q": query})
                else:
                    response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            queries.add(len(captured))
            if response.status_code != 200:
                raise SystemExit(f"{name}: {url}: HTTP {response.status_code}")
        p95 = percentile(times, 0.95)
        worst = max(worst, p95)
        spread = f"{min(queries)}" if len(queries) == 1 else f"{min(queries)}-{max(queries)}"
        print(f"{name:<34} {statistics.median(times):>10.1f} {p95:>10.1f} {max(times):>8.1f} {spread:>8}")
    print(f"worst p95: {worst:.1f} ms (target < 150 ms)")
    print("load average (1, 5, 15 min): " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
