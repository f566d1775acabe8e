#!/usr/bin/env python
"""A bounded load test: the app under gunicorn, 30 simulated staff of mixed roles (locust).

    .venv/bin/python benchmarks/load_test.py --database-url postgres://postgres@127.0.0.1:5432/bench_nightly

Uses a PostgreSQL database that holds a big bank after a real night (``nightly_bench.py``
leaves one). Picks the branch with the most open cases, gives its staff (RMs, the lobby
manager, the head) and an analyst a fresh password, writes who may open which customers
and cases for ``benchmarks/locustfile.py``, then for each ``--workers`` count starts
gunicorn with the deployment's configuration (``config/gunicorn.py``) and runs locust
headless from a second process for ``--duration`` seconds: ``--users`` staff, each
clicking every 1-3 s. Prints, per page: requests, failures, median and p95; and the
throughput. The app's own errors are failures too (any status >= 400).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "var" / "load"


def staff_file(*, max_rms: int) -> tuple[Path, str, int]:
    """Pick the busiest branch, set its staff's password, write the locust staff file."""
    from django.contrib.auth.hashers import make_password
    from django.db.models import Count

    from core.months import add_months
    from customers.models import Customer, Role, User
    from retention.models import OPEN_STATUSES, Case, Task, TaskStatus

    busiest = (Case.objects.filter(status__in=OPEN_STATUSES, is_control=False).values("branch_id")
               .annotate(n=Count("pk")).order_by("-n").first())
    if busiest is None:
        raise SystemExit("no open cases: run a night first (benchmarks/nightly_bench.py)")
    branch_id = busiest["branch_id"]
    rms = list(User.objects.filter(branch_id=branch_id, role=Role.RM, is_active=True)
               .annotate(n=Count("retention_cases")).order_by("-n")[:max_rms])
    lobby = list(User.objects.filter(branch_id=branch_id, role=Role.LOBBY, is_active=True)[:2])
    head = list(User.objects.filter(branch_id=branch_id, role=Role.HEAD, is_active=True)[:1])
    analyst = User.objects.filter(role=Role.ANALYST, is_active=True).first()
    if analyst is None:
        analyst = User.objects.create(username="load_analyst", role=Role.ANALYST, display_name="Load analyst")
    password = secrets.token_urlsafe(12)
    hashed = make_password(password)
    everyone = [*rms, *lobby, *head, analyst]
    User.objects.filter(pk__in=[user.pk for user in everyone]).update(password=hashed, is_active=True)
    branch_customers = list(Customer.objects.filter(branch_id=branch_id).values_list("pk", flat=True)[:500])
    tails = list(Customer.objects.filter(branch_id=branch_id).values_list("phone_tail", flat=True)[:200])
    names = list(Customer.objects.filter(branch_id=branch_id).values_list("name", flat=True)[:100])

    def rm_entry(user: User) -> dict:
        cases = Case.objects.filter(owner=user, status__in=OPEN_STATUSES, is_control=False)
        tasks = list(Task.objects.filter(case__in=cases, owner=user, status=TaskStatus.OPEN)
                     .values_list("case_id", "pk")[:50])
        return {"username": user.username, "customers": list(cases.values_list("customer_id", flat=True)[:200])
                or branch_customers, "tasks": [list(pair) for pair in tasks]}

    last_month = add_months(Case.objects.order_by("-opened_on").values_list("opened_on", flat=True).first(), -1)
    staff = {
        "rm": [rm_entry(user) for user in rms],
        "lobby": [{"username": user.username, "customers": branch_customers,
                   "lookups": [t for t in tails if t] + [n[:2] for n in names if n]} for user in lobby],
        "head": [{"username": user.username, "customers": branch_customers,
                  "last_month": f"{last_month:%Y-%m}"} for user in head],
        "analyst": [{"username": analyst.username, "customers": branch_customers}],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "staff.json"
    path.write_text(json.dumps({"password": password, "staff": staff}), encoding="utf-8")
    return path, str(branch_id), Customer.objects.filter(branch_id=branch_id).count()


def static_ready() -> None:
    """The collected static files with their manifest, as the image builds them (Dockerfile):
    without DEBUG every page's ``{% static %}`` reads the manifest, and a missing one is a
    500 on every page."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    if manifest.exists() and manifest.stat().st_mtime >= max(
            path.stat().st_mtime for path in (ROOT / "static").rglob("*") if path.is_file()):
        return
    if not (ROOT / "node_modules" / "htmx.org").exists():
        raise SystemExit("front-end libraries missing: run `npm ci` (or `make assets`) first")
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(40)}
    env.pop("DEBUG", None)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
                   cwd=ROOT, env=env, check=True)


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout:.0f}s")


def run(*, workers: int, args, staff: Path) -> list[dict]:
    env = {**os.environ, "DATABASE_URL": args.database_url, "SECRET_KEY": secrets.token_urlsafe(40),
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "0", "SECURE_COOKIES": "0",
           "WEB_CONCURRENCY": str(workers), "GUNICORN_BIND": f"127.0.0.1:{args.port}", "LOG_LEVEL": "WARNING",
           "LOAD_STAFF": str(staff)}
    env.pop("DEBUG", None)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py",
                               "config.wsgi:application"], cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_up(f"http://127.0.0.1:{args.port}/healthz")
        prefix = OUT / f"workers{workers}"
        subprocess.run([sys.executable, "-m", "locust", "-f", "benchmarks/locustfile.py", "--headless",
                        "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration}s",
                        "--host", f"http://127.0.0.1:{args.port}", "--csv", str(prefix), "--only-summary",
                        "--loglevel", "WARNING"], cwd=ROOT, env=env, check=False)
        with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            # Requests still in flight when locust stops get gunicorn's graceful_timeout (30 s).
            server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_nightly")
    parser.add_argument("--workers", default="1,2", help="gunicorn worker counts to try, comma-separated")
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--duration", type=int, default=90)
    parser.add_argument("--port", type=int, default=8077)
    parser.add_argument("--rms", type=int, default=12, help="RMs of the branch who log in")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    static_ready()
    staff, branch, customers = staff_file(max_rms=args.rms)
    print(f"branch {branch}: {customers:,} customers; {args.users} simulated staff for {args.duration}s")
    for workers in [int(value) for value in args.workers.split(",")]:
        rows = run(workers=workers, args=args, staff=staff)
        print(f"\ngunicorn workers: {workers}")
        print(f"{'page':<34} {'requests':>8} {'failed':>7} {'median ms':>10} {'p95 ms':>8}")
        for row in rows:
            if row["Name"] == "Aggregated":
                continue
            print(f"{row['Name']:<34} {row['Request Count']:>8} {row['Failure Count']:>7} "
                  f"{row['Median Response Time']:>10} {row['95%']:>8}")
        total = next(row for row in rows if row["Name"] == "Aggregated")
        print(f"{'all':<34} {total['Request Count']:>8} {total['Failure Count']:>7} "
              f"{total['Median Response Time']:>10} {total['95%']:>8}   {float(total['Requests/s']):.1f} requests/s")
    print("load average (1, 5, 15 min): " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
