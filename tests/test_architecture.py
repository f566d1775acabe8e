"""The layers of docs/architecture.md, beyond what import-linter sees.

import-linter (``make lint``) checks the import statements; an app can still reach
another at run time through ``importlib`` or ``apps.get_model``, which no import
graph shows. Outside migrations (where ``apps.get_model`` is the historical model,
as Django requires) neither is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["config", "core", "audit", "customers", "churn", "retention", "nightly", "api", "web", "demo"]
RUN_TIME_REACH = re.compile(r"\bimportlib\b|\bget_model\s*\(|\b__import__\s*\(")


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_every_layer_of_the_architecture_is_a_package_here():
    assert [app for app in APPS if not (ROOT / app / "__init__.py").exists()] == []


def test_no_app_reaches_another_at_run_time():
    hits = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in _sources()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if RUN_TIME_REACH.search(line)]
    assert hits == []


def test_the_guard_finds_a_reach_when_there_is_one():
    assert RUN_TIME_REACH.search('alert = apps.get_model("retention", "Alert")')
    assert RUN_TIME_REACH.search("module = importlib.import_module(name)")


def test_views_write_no_audit_event_themselves():
    """Audit events are written by the services that do the work, handed the acting user and
    the request's origin (docs/architecture.md); a view only passes ``origin_from_request``."""
    views = [*(ROOT / "web" / "views").glob("*.py"), *(ROOT / "api" / "views").glob("*.py")]
    hits = [f"{path.relative_to(ROOT)}:{number}"
            for path in views
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if "audit_record" in line]
    assert hits == []
