"""The control-group draw: which alerts are held out (raised, recorded, never shown).

The draw is a hash, not ``random``: the same alert key and playbook salt give
the same answer on every machine and every rerun, so a replayed nightly job
cannot move an alert between the groups, and an auditor can recompute it.
"""

from __future__ import annotations

import hashlib

_SCALE = float(16**15)


def control_draw(*, alert_key: str, salt: str) -> float:
    """A number in [0, 1), uniform over keys, fixed for a (salt, key) pair."""
    digest = hashlib.sha256(f"{salt}|{alert_key}".encode()).hexdigest()
    return int(digest[:15], 16) / _SCALE


def is_held_out(*, draw: float, share: float) -> bool:
    return draw < share


def alert_key(*, customer_id: str, kind: str, raised_on_iso: str) -> str:
    """What identifies an alert for the draw: customer, kind and the day it was first raised."""
    return f"{customer_id}|{kind}|{raised_on_iso}"
