"""axe-core in the browser tests: the accessibility engine from npm (``node_modules/axe-core``,
installed by ``make assets`` from package-lock.json, never from a CDN), run inside a Playwright
page.

The pages' Content-Security-Policy allows scripts from our own origin only (config/security.py):
a ``<script>`` tag added to the page (Playwright's ``add_script_tag``) is refused by it. The source
is therefore evaluated through the browser's devtools protocol (``page.evaluate``), which the page's
policy does not govern, and nothing is added to the page that a user's browser would not have.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest
from django.conf import settings

AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# The violations that fail a test; "moderate" and "minor" ones are reported by axe but let through.
BLOCKING = ("serious", "critical")
# Selectors shown per violation in a failure message.
SHOWN_NODES = 3

# Runs in the page: axe's violations, cut down to what a failure message shows.
_RUN = """() => axe.run(document, {resultTypes: ['violations']}).then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''})),
})))"""


@cache
def axe_source() -> str:
    """axe-core's script; a skip without it, a failure under REQUIRE_REAL_SERVICES=1 (CI)."""
    if not AXE_JS.exists():
        message = f"the accessibility checks need axe-core: run `npm ci` (missing {AXE_JS.name})"
        if os.environ.get("REQUIRE_REAL_SERVICES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page) -> list[dict]:
    """Every axe violation on the page as it is now (after any htmx swap), each with its rule
    ``id``, ``impact``, ``help``, ``helpUrl`` and ``nodes`` (``target`` selector, ``summary``)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Wrapped in a function so Playwright calls it rather than guessing what the text is.
        page.evaluate("() => {\n" + axe_source() + "\n}")
    return page.evaluate(_RUN)


def blocking(violations: list[dict]) -> list[dict]:
    return [violation for violation in violations if violation["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    """One line per violation (impact, rule, help), then its first nodes' selectors and why."""
    lines = []
    for violation in violations:
        lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:SHOWN_NODES]:
            summary = " ".join(node["summary"].split())
            lines.append(f"      {node['target']}" + (f" -- {summary[:300]}" if summary else ""))
        if len(violation["nodes"]) > SHOWN_NODES:
            lines.append(f"      ... and {len(violation['nodes']) - SHOWN_NODES} more")
    return "\n".join(lines)


def assert_no_serious_violations(page, where: str = "") -> None:
    """Fails with every serious or critical violation on the page, readably."""
    found = blocking(axe_violations(page))
    assert not found, f"axe: {len(found)} serious or critical violation(s) on {where or page.url}:\n{describe(found)}"
