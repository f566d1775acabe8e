"""Every URL of the project x every role x own / colleague's / other branch's object.

The URL list comes from the resolver, so a new page or endpoint without a rule in
RULES fails ``test_every_url_has_a_rule`` (and its own matrix case): whoever adds a
URL declares who may use it.

Roles: the owner RM, a colleague RM in the same branch, an outsider RM in another
branch, the lobby manager and branch head of the first branch, an analyst, an
administrator, and anonymous. Objects: the owner's customer (its case and the case's
tasks), the colleague's, and the outsider's in the other branch.

Each request runs in a transaction that is rolled back, so one role's action (a
dismissed case) cannot change what the next role sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.api.conftest import OBJECTS, ROLES, TODAY

# --- who sees what ---------------------------------------------------------------------

# role -> the objects (customers, their cases and tasks) in that role's scope.
VISIBLE = {
    "rm_owner": {"own"},
    "rm_colleague": {"colleague"},
    "rm_outsider": {"other"},
    "lobby": {"own", "colleague"},
    "head": {"own", "colleague"},
    "analyst": set(),
    "admin": {"own", "colleague", "other"},
    "anonymous": set(),
}
REVEAL_PERMISSION = {"head", "admin"}

LOGIN = "login"  # pages: redirect to the login page
UNAUTHENTICATED = 401  # API: no credentials


@dataclass
class Rule:
    """How to call a URL and what each role must get.

    ``expect(role, obj)`` returns a status code, a set of acceptable codes, or LOGIN.
    ``obj`` is None for URLs without an object."""

    expect: Callable[[str, str | None], object]
    method: str = "get"
    kwargs: Callable | None = None  # (world, obj) -> URL kwargs
    data: dict | Callable | None = None
    json: bool = True
    headers: dict = field(default_factory=dict)
    per_object: bool = False
    xfail: str = ""


def api_everyone(ok=200):
    return lambda role, obj: UNAUTHENTICATED if role == "anonymous" else ok


def api_scoped(ok=200):
    def expect(role, obj):
        if role == "anonymous":
            return UNAUTHENTICATED
        return ok if obj in VISIBLE[role] else 404

    return expect


def api_roles(allowed: set[str], ok=200, denied=403):
    return lambda role, obj: UNAUTHENTICATED if role == "anonymous" else (ok if role in allowed else denied)


def api_reveal(role, obj):
    """The phone number: whoever may see the customer's record may call them (their RM, the
    branch's head and lobby manager, administrators); a colleague's or another branch's
    customer is out of scope (404). The ID number stays with ``REVEAL_PERMISSION``."""
    if role == "anonymous":
        return UNAUTHENTICATED
    if obj not in VISIBLE[role]:
        return 404
    return 200


def page_everyone(ok=200):
    return lambda role, obj: LOGIN if role == "anonymous" else ok


def page_scoped(ok=200):
    def expect(role, obj):
        if role == "anonymous":
            return LOGIN
        return ok if obj in VISIBLE[role] else 404

    return expect


def page_roles(allowed: set[str], ok=200, denied=403):
    return lambda role, obj: LOGIN if role == "anonymous" else (ok if role in allowed else denied)


def public(ok=200):
    return lambda role, obj: ok


def customer_pk(world, obj):
    return {"pk": world.customers[obj].pk}


def case_pk(world, obj):
    return {"pk": world.cases[obj].pk}


def task_pk(world, obj):
    return {"pk": world.tasks[obj].pk}


def done_task_pk(world, obj):
    return {"pk": world.done_tasks[obj].pk}


def case_task(world, obj):
    return {"pk": world.cases[obj].pk, "task_id": world.tasks[obj].pk}


def _branch_task(world, obj, *, role: str, kind: str, channel: str) -> int:
    """The case's task for the lobby (an interception) or the head (a callback), made once:
    kwargs are asked for before each role's rolled-back request, so the task outlives them."""
    from tests.retention.factories import SignalFactory, TaskFactory

    key = f"{role}_task_{obj}"
    if key not in world.made:
        case = world.cases[obj]
        branch_staff = world.users[role] if case.branch_id == world.branch.pk else None
        signal = SignalFactory(case=case, kind=kind, playbook=case.playbook, event_on=TODAY)
        task = TaskFactory(case=case, signal=signal, order=5, owner_role=role, owner=branch_staff, channel=channel)
        world.made[key] = task.pk
    return world.made[key]


def interception_task(world, obj):
    return {"pk": _branch_task(world, obj, role="lobby", kind="large_withdrawal", channel="branch")}


def callback_task(world, obj):
    return {"pk": _branch_task(world, obj, role="head", kind="satisfaction_drop", channel="call")}


def api_branch_task(doers: set[str]):
    """The API's twin of ``page_branch_task``."""
    def expect(role, obj):
        if role == "anonymous":
            return UNAUTHENTICATED
        return 200 if obj in VISIBLE[role] and role in doers else 404

    return expect


def page_branch_task(doers: set[str]):
    """A lobby or head task recorded on its page: by those who do it (the task's role, the head
    covering the lobby, an administrator) when in scope; everyone else 404, as out of scope."""
    def expect(role, obj):
        if role == "anonymous":
            return LOGIN
        return 200 if obj in VISIBLE[role] and role in doers else 404

    return expect


ANALYSTS = {"analyst", "admin"}
AGGREGATE_READERS = {"head", "analyst", "admin"}
TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()
HTMX = {"HX-Request": "true"}

RULES: dict[str, Rule] = {
    # --- project pages --------------------------------------------------------------------
    "healthz": Rule(public(200)),
    "favicon": Rule(public(301)),
    "set_language": Rule(public(302), method="post", data={"language": "en", "next": "/"}, json=False),
    "login": Rule(lambda role, obj: 200 if role == "anonymous" else 302),
    "logout": Rule(lambda role, obj: 302, method="post", json=False),
    "home": Rule(page_everyone(302)),
    "customers:detail": Rule(page_scoped(200), kwargs=customer_pk, per_object=True),
    "customers:reveal": Rule(
        lambda role, obj: api_reveal(role, obj) if role != "anonymous" else LOGIN,
        method="post", kwargs=lambda w, o: {**customer_pk(w, o), "field": "phone"}, per_object=True, json=False,
    ),
    "customers:segment": Rule(
        # An RM, lobby... segment overrides: RMs and heads in scope; the lobby is refused with a 404.
        lambda role, obj: LOGIN if role == "anonymous" else (
            200 if obj in VISIBLE[role] and role in {"rm_owner", "rm_colleague", "rm_outsider", "head", "admin"}
            else 404),
        method="post", kwargs=customer_pk, per_object=True, json=False, data={"segment_override": ""},
    ),
    "customers:consent": Rule(
        # A do-not-contact request: everyone who may see the customer records it; the rest 404.
        page_scoped(200), method="post", kwargs=customer_pk, per_object=True, json=False, headers=HTMX,
        data={"consent-channel": "call", "consent-do_not_contact": "1", "consent-reason": "本人致电",
              "consent-effective_on": TODAY.isoformat()},
    ),
    "customers:handover": Rule(
        # The lobby (and head) hand a walk-in to the RM; an RM has nobody to hand over to.
        lambda role, obj: LOGIN if role == "anonymous" else (
            200 if obj in VISIBLE[role] and role in {"lobby", "head", "admin"} else 404),
        method="post", kwargs=customer_pk, per_object=True, json=False, data={"note": "asked about loans"},
    ),
    "customers:walkin": Rule(page_everyone(200)),
    "customers:walkin_results": Rule(page_everyone(200), method="post", json=False, data={"q": "王"}),
    "customers:interceptions": Rule(page_everyone(200)),
    "customers:competitors": Rule(page_everyone(200)),
    "customers:interception_record": Rule(page_branch_task({"lobby", "head", "admin"}), method="post",
                                          kwargs=interception_task, per_object=True, json=False, headers=HTMX,
                                          data={"outcome": "did_not_come"}),
    "retention:case_list": Rule(page_everyone(200)),
    # The list's old address: a permanent redirect to the new one.
    "retention:alert_list": Rule(page_everyone(301)),
    "retention:case_export": Rule(page_everyone(200), kwargs=lambda w, o: {"fmt": "csv"}),
    "retention:case_start": Rule(page_scoped({200, 422}), method="post", kwargs=case_pk, per_object=True,
                                 json=False, headers=HTMX),
    "retention:case_snooze": Rule(page_scoped({200, 422}), method="post", kwargs=case_pk, per_object=True,
                                  json=False, headers=HTMX, data={"until": TOMORROW}),
    "retention:case_dismiss": Rule(page_scoped({200, 422}), method="post", kwargs=case_pk, per_object=True,
                                   json=False, headers=HTMX, data={"reason": "moved abroad"}),
    "retention:case_close": Rule(page_scoped({200, 422}), method="post", kwargs=case_pk, per_object=True,
                                 json=False, headers=HTMX, data={"outcome": "retained", "reason": "funds kept"}),
    "retention:case_contact": Rule(page_scoped({200, 422}), method="post", kwargs=case_pk, per_object=True,
                                   json=False, headers=HTMX, data={"channel": "call", "result": "reached"}),
    "retention:task_toggle": Rule(page_scoped({200, 422}), method="post", kwargs=case_task, per_object=True,
                                  json=False, headers=HTMX, data={"done": "1"}),
    "retention:callback_queue": Rule(page_everyone(200)),
    "retention:callback_record": Rule(page_branch_task({"head", "admin"}), method="post", kwargs=callback_task,
                                      per_object=True, json=False, headers=HTMX,
                                      data={"outcome": "reason_learnt", "note": "waited an hour at the counter"}),
    "retention:dashboard": Rule(page_roles(AGGREGATE_READERS, denied=404)),
    # The team's day: every branch role's digest (and an administrator's), never an analyst's; the
    # head's bulk reassign (nothing chosen: sent back to the list with the message; cases of
    # another branch are refused in tests/pages/test_team_pages.py).
    "retention:digest": Rule(page_roles({"rm_owner", "rm_colleague", "rm_outsider", "lobby", "head", "admin"},
                                        denied=404)),
    "retention:case_reassign": Rule(page_roles({"head", "admin"}, ok=302, denied=404), method="post", json=False,
                                    data={"to": ""}),
    "churn:model_list": Rule(page_roles(ANALYSTS, denied=404)),
    "churn:model_detail": Rule(page_roles(ANALYSTS, denied=404), kwargs=lambda w, o: {"pk": w.model_version.pk}),
    "churn:model_card": Rule(page_roles(ANALYSTS, denied=404), kwargs=lambda w, o: {"pk": w.model_version.pk}),
    "churn:training_run_create": Rule(page_roles(ANALYSTS, ok=302, denied=404), method="post", json=False),
    "churn:training_run_status": Rule(page_roles(ANALYSTS, denied=404), kwargs=lambda w, o: {"pk": w.training_run.pk}),
    "churn:nightly_run_start": Rule(page_roles(ANALYSTS, ok=302, denied=404), method="post", json=False),
    "churn:nightly_run_status": Rule(page_roles(ANALYSTS, denied=404),
                                     kwargs=lambda w, o: {"run_date": TODAY.isoformat()}),
    "churn:data_import": Rule(page_roles(ANALYSTS, denied=404)),
    # --- API ----------------------------------------------------------------------------------
    "api:schema": Rule(api_everyone(200)),
    "api:docs": Rule(api_everyone(200)),
    "api:redoc": Rule(api_everyone(200)),
    "api:me": Rule(api_everyone(200)),
    "api:customer_list": Rule(api_everyone(200)),
    "api:customer_search": Rule(api_everyone(200), method="post", data={"q": "王"}),
    "api:customer_export": Rule(api_everyone(200)),
    "api:customer_detail": Rule(api_scoped(200), kwargs=customer_pk, per_object=True),
    "api:customer_reveal": Rule(api_reveal, method="post", kwargs=customer_pk, per_object=True,
                                data={"field": "phone"}),
    "api:customer_balances": Rule(api_scoped(200), kwargs=customer_pk, per_object=True),
    "api:customer_holdings": Rule(api_scoped(200), kwargs=customer_pk, per_object=True),
    "api:customer_scores": Rule(api_scoped(200), kwargs=customer_pk, per_object=True),
    "api:appointment_list": Rule(api_everyone(200)),
    "api:case_list": Rule(api_everyone(200)),
    "api:case_export": Rule(api_everyone(200)),
    "api:case_detail": Rule(api_scoped(200), kwargs=case_pk, per_object=True),
    # Nothing chosen: 400 for those who may reassign (the cases' rules: tests/api/test_case_reassign.py).
    "api:case_reassign": Rule(api_roles({"head", "admin"}, ok=400), method="post", data={"cases": []}),
    "api:case_start": Rule(api_scoped(200), method="post", kwargs=case_pk, per_object=True),
    "api:case_snooze": Rule(api_scoped(200), method="post", kwargs=case_pk, per_object=True,
                            data={"until": TOMORROW}),
    "api:case_dismiss": Rule(api_scoped(200), method="post", kwargs=case_pk, per_object=True,
                             data={"reason": "moved abroad"}),
    "api:case_close": Rule(api_scoped(200), method="post", kwargs=case_pk, per_object=True,
                           data={"outcome": "retained", "reason": "moved the maturing funds to our product"}),
    "api:case_contact": Rule(api_scoped(200), method="post", kwargs=case_pk, per_object=True,
                             data={"channel": "call", "result": "reached"}),
    "api:task_list": Rule(api_everyone(200)),
    "api:task_done": Rule(api_scoped(200), method="post", kwargs=task_pk, per_object=True,
                          data={"outcome": "reached", "note": "will keep the deposit"}),
    "api:task_undo": Rule(api_scoped(200), method="post", kwargs=done_task_pk, per_object=True),
    "api:task_interception": Rule(api_branch_task({"lobby", "head", "admin"}), method="post",
                                  kwargs=interception_task, per_object=True, data={"outcome": "did_not_come"}),
    "api:task_callback": Rule(api_branch_task({"head", "admin"}), method="post", kwargs=callback_task,
                              per_object=True, data={"outcome": "reason_learnt", "note": "waited an hour"}),
    "api:interception_list": Rule(api_everyone(200)),
    "api:callback_list": Rule(api_everyone(200)),
    "api:dashboard": Rule(api_roles(AGGREGATE_READERS)),
    "api:retention_report": Rule(api_roles(AGGREGATE_READERS)),
    "api:model_version_list": Rule(api_roles(ANALYSTS)),
    "api:model_version_detail": Rule(api_roles(ANALYSTS), kwargs=lambda w, o: {"pk": w.model_version.pk}),
    "api:model_version_monitoring": Rule(api_roles(ANALYSTS), kwargs=lambda w, o: {"pk": w.model_version.pk}),
    "api:model_version_card": Rule(api_roles(ANALYSTS), kwargs=lambda w, o: {"pk": w.model_version.pk}),
    "api:training_run_start": Rule(api_roles(ANALYSTS, ok=202), method="post", data={"force": False}),
    "api:training_run_detail": Rule(api_roles(ANALYSTS), kwargs=lambda w, o: {"pk": w.training_run.pk}),
    "api:nightly_run_list": Rule(api_roles(ANALYSTS)),
    # The world's run of the day is done: the start answers 200 (nothing started, outcome "done").
    "api:nightly_run_start": Rule(api_roles(ANALYSTS, ok=200), method="post"),
    "api:nightly_run_detail": Rule(api_roles(ANALYSTS), kwargs=lambda w, o: {"run_date": TODAY.isoformat()}),
    # No file: 400 with the report for those allowed, before anything is read or written.
    "api:import_create": Rule(api_roles(ANALYSTS, ok=400), method="post", json=False),
    "api:audit_event_list": Rule(api_roles({"admin"})),
    "api:audit_event_export": Rule(api_roles({"admin"})),
}

# The Django admin: staff only. Its URLs are many and generated per model, so they share
# one rule, checked for every one of them: anonymous and non-staff users are sent to the
# admin login; the administrator gets the page (or a redirect inside the admin).
ADMIN_NAMESPACE = "admin"


# --- the URL list ------------------------------------------------------------------------


@dataclass(frozen=True)
class Url:
    name: str  # namespace:name, or the route for unnamed patterns
    route: str
    namespace: str

    def __str__(self) -> str:
        return self.name


def _walk(patterns, prefix: str = "", namespace: str = "") -> list[Url]:
    urls = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            child_ns = namespace
            if pattern.namespace:
                child_ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            urls += _walk(pattern.url_patterns, route, child_ns)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or route
            qualified = f"{namespace}:{name}" if namespace and pattern.name else name
            urls.append(Url(qualified, route, namespace))
    return urls


ALL_URLS = _walk(get_resolver().url_patterns)
ADMIN_URLS = [u for u in ALL_URLS if u.namespace.split(":")[0] == ADMIN_NAMESPACE]
PROJECT_URLS = [u for u in ALL_URLS if u.namespace.split(":")[0] != ADMIN_NAMESPACE]


def test_every_url_has_a_rule():
    missing = sorted({u.name for u in PROJECT_URLS} - set(RULES))
    assert not missing, f"URLs without a rule in the permission matrix: {missing}"


def test_no_rule_is_left_for_a_url_that_is_gone():
    stale = sorted(set(RULES) - {u.name for u in PROJECT_URLS})
    assert not stale, f"rules for URLs that no longer exist: {stale}"


# --- running the matrix ---------------------------------------------------------------------


def _call(client, rule: Rule, url: str):
    data = rule.data() if callable(rule.data) else rule.data
    method = getattr(client, rule.method)
    if rule.method == "get":
        return method(url, headers=rule.headers)
    if rule.json:
        return method(url, data or {}, content_type="application/json", headers=rule.headers)
    return method(url, data or {}, headers=rule.headers)


def _matches(response, expected) -> bool:
    if expected == LOGIN:
        return response.status_code == 302 and response.url.startswith(reverse("login"))
    if isinstance(expected, set):
        return response.status_code in expected
    return response.status_code == expected


@pytest.mark.parametrize("url", PROJECT_URLS, ids=str)
def test_permission_matrix(world, url):
    rule = RULES.get(url.name)
    assert rule is not None, f"{url.name} ({url.route}) has no rule in the permission matrix"
    if rule.xfail:
        pytest.xfail(rule.xfail)
    mismatches = []
    for role in ROLES:
        client = world.client(role)
        for obj in OBJECTS if rule.per_object else [None]:
            kwargs = rule.kwargs(world, obj) if rule.kwargs else {}
            path = reverse(url.name, kwargs=kwargs)
            expected = rule.expect(role, obj)
            with transaction.atomic():
                response = _call(client, rule, path)
                transaction.set_rollback(True)
            if not _matches(response, expected):
                mismatches.append(f"{role:>13} {obj or '-':>9} {rule.method.upper()} {path}: "
                                  f"got {response.status_code}, expected {expected}")
    assert not mismatches, "\n" + "\n".join(mismatches)


@pytest.mark.parametrize("role", ROLES)
def test_admin_site_is_for_staff_only(world, role):
    """Every admin URL: anonymous and non-staff users go to the admin login; the administrator
    is let in (a page, or a redirect within the admin for objects that do not exist)."""
    client = world.client(role)
    login_url = reverse("admin:login")
    mismatches = []
    for url in ADMIN_URLS:
        if url.name in ("admin:login", "admin:logout"):
            continue
        path = _admin_path(url)
        if path is None:
            continue
        with transaction.atomic():
            response = client.get(path)
            transaction.set_rollback(True)
        if role == "admin":
            # 403: an admin page that nobody may use (adding or deleting audit events, ...).
            ok = response.status_code in (200, 302, 403, 404) and (
                response.status_code != 302 or not response.url.startswith(login_url)
            )
        else:
            ok = response.status_code == 302 and response.url.startswith(login_url)
        if not ok:
            mismatches.append(f"{role} GET {path}: {response.status_code} {getattr(response, 'url', '')}")
    assert not mismatches, "\n".join(mismatches)


def _admin_path(url: Url) -> str | None:
    """A concrete path for an admin URL pattern: object ids become 1, app labels a real app."""
    import re

    route = url.route.lstrip("^").rstrip("$")
    route = re.sub(r"<int:\w+>|<path:object_id>|<object_id>", "1", route)
    route = re.sub(r"\(\?P<app_label>[^)]*\)", "customers", route)
    route = route.replace("<path:url>", "nothing-here/")
    if "<" in route or "(?P" in route:
        return None
    return "/" + route
