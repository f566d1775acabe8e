"""Branch staff doing their day, for ``benchmarks/load_test.py`` (locust).

Each simulated member of staff logs in with the password the runner set and works
the pages of their role with a think time between clicks: the RM their list of
cases, customer 360s and an occasional task ticked and unticked; the lobby manager
walk-in lookups and the interception list; the branch head the dashboard, the
callbacks and the branch's cases; the analyst the dashboard, the model pages and
the API's lists. The runner writes who logs in and which customers and cases they
may open into the JSON file named by ``LOAD_STAFF``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import HttpUser, between, task

_STAFF = json.loads(open(os.environ["LOAD_STAFF"], encoding="utf-8").read())
_POOLS = {role: itertools.cycle(people) for role, people in _STAFF["staff"].items() if people}
PASSWORD = _STAFF["password"]
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class _Staff(HttpUser):
    abstract = True
    role = ""
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.me = next(_POOLS[self.role])
        page = self.client.get("/login/", name="login page")
        token = _CSRF.search(page.text)
        response = self.client.post(
            "/login/", {"username": self.me["username"], "password": PASSWORD,
                        "csrfmiddlewaretoken": token.group(1) if token else ""},
            headers={"Referer": f"{self.host}/login/"}, name="login", allow_redirects=False,
        )
        if response.status_code != 302:
            response.failure(f"login of {self.me['username']} answered {response.status_code}")
        self.csrf = self.client.cookies.get("csrftoken", "")

    def customer(self) -> int:
        return random.choice(self.me["customers"])

    def post(self, url: str, data: dict, name: str):
        return self.client.post(url, {**data, "csrfmiddlewaretoken": self.csrf},
                                headers={"Referer": f"{self.host}/", "X-CSRFToken": self.csrf}, name=name)


class RelationshipManager(_Staff):
    weight = 6
    role = "rm"

    @task(5)
    def cases(self) -> None:
        self.client.get("/cases/", name="RM: cases")

    @task(1)
    def cases_page_2(self) -> None:
        self.client.get("/cases/?page=2", name="RM: cases, page 2")

    @task(1)
    def cases_filtered(self) -> None:
        self.client.get("/cases/?segment=product", name="RM: cases, filtered")

    @task(4)
    def customer_360(self) -> None:
        self.client.get(f"/customers/{self.customer()}/", name="RM: customer 360")

    @task(1)
    def tick_and_untick(self) -> None:
        if not self.me.get("tasks"):
            return
        case_id, task_id = random.choice(self.me["tasks"])
        self.post(f"/cases/{case_id}/tasks/{task_id}/", {"done": "1"}, name="RM: task done")
        self.post(f"/cases/{case_id}/tasks/{task_id}/", {"done": "0"}, name="RM: task undone")

    @task(1)
    def api_cases(self) -> None:
        self.client.get("/api/v1/cases/", name="RM: API cases")


class LobbyManager(_Staff):
    weight = 2
    role = "lobby"

    @task(5)
    def lookup(self) -> None:
        # The query travels in a POST body, never in the URL (access logs, history).
        self.post("/lookup/results/", {"q": random.choice(self.me["lookups"])}, name="lobby: walk-in lookup")

    @task(2)
    def interceptions(self) -> None:
        self.client.get("/interceptions/", name="lobby: interceptions")

    @task(1)
    def lookup_page(self) -> None:
        self.client.get("/lookup/", name="lobby: lookup page")

    @task(2)
    def customer_360(self) -> None:
        self.client.get(f"/customers/{self.customer()}/", name="lobby: customer 360")


class BranchHead(_Staff):
    weight = 1
    role = "head"

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/dashboard/", name="head: dashboard")

    @task(1)
    def dashboard_last_month(self) -> None:
        self.client.get(f"/dashboard/?month={self.me['last_month']}", name="head: dashboard, last month")

    @task(2)
    def callbacks(self) -> None:
        self.client.get("/callbacks/", name="head: callbacks")

    @task(2)
    def cases(self) -> None:
        self.client.get("/cases/", name="head: branch cases")

    @task(1)
    def customer_360(self) -> None:
        self.client.get(f"/customers/{self.customer()}/", name="head: customer 360")

    @task(1)
    def api_dashboard(self) -> None:
        self.client.get("/api/v1/dashboard/", name="head: API dashboard")


class Analyst(_Staff):
    weight = 1
    role = "analyst"

    @task(2)
    def dashboard(self) -> None:
        self.client.get("/dashboard/", name="analyst: dashboard")

    @task(1)
    def models(self) -> None:
        self.client.get("/analyst/models/", name="analyst: models")

    @task(1)
    def api_customers(self) -> None:
        self.client.get("/api/v1/customers/", name="analyst: API customers")

    @task(1)
    def api_report(self) -> None:
        self.client.get("/api/v1/retention-report/", name="analyst: API retention report")
