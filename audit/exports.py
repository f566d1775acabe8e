"""The audit trail as a spreadsheet-safe CSV, for the admin's export action and the API."""

from __future__ import annotations

import json

from core.spreadsheet import csv_response

AUDIT_CSV_HEADER = ["id", "at", "actor", "action", "object_type", "object_id", "customer_id", "ip_address", "path",
                    "detail"]


def audit_events_csv(events):
    """``events`` (a queryset or list) as a CSV response; returns it and the row count."""
    source = events.iterator(chunk_size=2000) if hasattr(events, "iterator") else events
    rows = (
        [e.pk, e.at.isoformat(), e.actor_name, e.action, e.object_type, e.object_id,
         e.customer.customer_id if e.customer_id else "", e.ip_address or "", e.path,
         json.dumps(e.detail, ensure_ascii=False, sort_keys=True)]
        for e in source
    )
    return csv_response(header=AUDIT_CSV_HEADER, rows=rows, filename="audit-trail")
