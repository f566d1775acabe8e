"""Contactability: whether working a case would break the customer's wishes today.

Two rules, written once here for the pages, the API, the services and the nightly ranking:

- **do not contact**: the customer asked not to be contacted on a channel
  (``customers.ContactConsent`` with ``do_not_contact``, in force from its
  ``effective_on``); a task on that channel cannot be done;
- **contact-frequency cap**: at most ``RETENTION_CONTACT_CAP_COUNT`` outbound contacts with
  the customer in ``RETENTION_CONTACT_CAP_DAYS`` days, today included. An outbound
  contact is a contact log entry on a channel where staff reach out to the customer (a
  call, a visit, a message), *whatever its result*: an unanswered call still rang the
  customer's phone, and a fatigue rule that only counted conversations would let an RM
  ring all week. A customer seen in the branch is not counted and not capped: the
  customer came to us. Contacts by any member of staff count, on any case.

A case is *blocked* when it has open tasks and every one of them would break a rule (a
do-not-contact flag on its channel, or the cap reached on an outbound channel): it is
shown with the reason instead of the contact form, it is out of today's budget and not
time-critical, and it sinks to the end of the list. A case with no open task is not
blocked: there is nothing it asks anybody to do.

The same rule is coded twice, in Python for the reasons (``case_contactability``, a fixed
number of queries for any set of cases) and in SQL for the ranking
(``case_blocked_sql``, on PostgreSQL and SQLite); the tests hold one to the other.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.models import ContactChannel, ContactConsent, ContactLog
from retention import conf
from retention.models import Case, Task, TaskStatus

# Channels on which staff reach out to the customer: counted by the cap, and capped.
OUTBOUND_CHANNELS: tuple[str, ...] = (ContactChannel.CALL, ContactChannel.VISIT, ContactChannel.MESSAGE)


def cap_window_start(*, today: dt.date) -> dt.datetime:
    """The first moment the cap counts: the start of the day ``RETENTION_CONTACT_CAP_DAYS - 1``
    days before ``today`` (in the bank's time zone), so "7 days" is today and the six before."""
    first_day = today - dt.timedelta(days=conf.contact_cap_days() - 1)
    return timezone.make_aware(dt.datetime.combine(first_day, dt.time.min))


@dataclass(frozen=True)
class CustomerBlocks:
    """What stands in the way of contacting one customer today, per channel."""

    # channel -> the reason a contact on it would break the customer's wishes
    by_channel: dict[str, str] = field(default_factory=dict)

    def reason_for(self, channel: str) -> str:
        return self.by_channel.get(channel, "")


@dataclass(frozen=True)
class Contactability:
    """One case today: ``blocked`` when every open task would break a rule, with the
    reasons (distinct, in the order of the tasks); ``task_reasons``: task id -> reason
    for each open task that would."""

    blocked: bool = False
    reason: str = ""
    task_reasons: dict[int, str] = field(default_factory=dict)


def _do_not_contact_reason(consent: ContactConsent) -> str:
    channel = ContactChannel(consent.channel).label.lower()
    date = consent.effective_on.isoformat()
    if consent.reason:
        return _("The customer asked not to be contacted: %(channel)s (%(date)s, %(reason)s)") % {
            "channel": channel, "date": date, "reason": consent.reason}
    return _("The customer asked not to be contacted: %(channel)s (%(date)s)") % {"channel": channel, "date": date}


def _cap_reason(contact_days: list[dt.date]) -> str:
    """``contact_days``: the local days of the customer's outbound contacts in the window,
    at least the cap's count of them. The next contact is possible once the window has
    lost enough of them to go below the cap."""
    cap, days = conf.contact_cap_count(), conf.contact_cap_days()
    ordered = sorted(contact_days)
    next_possible = ordered[len(ordered) - cap] + dt.timedelta(days=days)
    return ngettext(
        "%(count)d contact in the last %(days)d days: next possible on %(date)s",
        "%(count)d contacts in the last %(days)d days: next possible on %(date)s",
        len(ordered),
    ) % {"count": len(ordered), "days": days, "date": next_possible.strftime("%m-%d")}


def customer_blocks(*, customer_ids: Iterable[int], today: dt.date) -> dict[int, CustomerBlocks]:
    """customer pk -> what blocks each channel today. Two queries whatever the number of
    customers: the do-not-contact flags in force, the outbound contacts in the cap's window."""
    ids = set(customer_ids)
    if not ids:
        return {}
    flags: dict[int, dict[str, str]] = defaultdict(dict)
    for consent in ContactConsent.objects.filter(customer_id__in=ids, do_not_contact=True, effective_on__lte=today):
        flags[consent.customer_id][consent.channel] = _do_not_contact_reason(consent)
    contacts: dict[int, list[dt.date]] = defaultdict(list)
    for customer_id, at in ContactLog.objects.filter(
        customer_id__in=ids, channel__in=OUTBOUND_CHANNELS, contacted_at__gte=cap_window_start(today=today)
    ).values_list("customer_id", "contacted_at"):
        contacts[customer_id].append(timezone.localdate(at))
    cap = conf.contact_cap_count()
    blocks: dict[int, CustomerBlocks] = {}
    for customer_id in ids:
        by_channel = dict(flags.get(customer_id, {}))
        if len(contacts.get(customer_id, [])) >= cap:
            capped = _cap_reason(contacts[customer_id])
            for channel in OUTBOUND_CHANNELS:
                by_channel.setdefault(channel, capped)
        blocks[customer_id] = CustomerBlocks(by_channel=by_channel)
    return blocks


def channel_block_reason(*, customer_id: int, channel: str, today: dt.date) -> str:
    """Why a contact with the customer on ``channel`` today would break their wishes; empty
    when it would not. Two queries: the services' check before a contact or a task."""
    return customer_blocks(customer_ids=[customer_id], today=today)[customer_id].reason_for(channel)


def case_contactability(*, cases: Iterable[Case], today: dt.date) -> dict[int, Contactability]:
    """case pk -> its contactability today (see the module's docstring). Three queries
    whatever the number of cases: their open tasks, then ``customer_blocks``."""
    cases = list(cases)
    if not cases:
        return {}
    open_tasks: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for case_id, task_id, channel in (
        Task.objects.filter(case_id__in=[case.pk for case in cases], status=TaskStatus.OPEN)
        .order_by("due_on", "order", "pk").values_list("case_id", "pk", "channel")
    ):
        open_tasks[case_id].append((task_id, channel))
    blocks = customer_blocks(customer_ids={case.customer_id for case in cases}, today=today)
    result: dict[int, Contactability] = {}
    for case in cases:
        customer = blocks[case.customer_id]
        task_reasons = {task_id: customer.reason_for(channel) for task_id, channel in open_tasks.get(case.pk, [])
                        if customer.reason_for(channel)}
        tasks = open_tasks.get(case.pk, [])
        blocked = bool(tasks) and len(task_reasons) == len(tasks)
        reasons = list(dict.fromkeys(task_reasons[task_id] for task_id, _channel in tasks if task_id in task_reasons))
        result[case.pk] = Contactability(blocked=blocked, reason=" · ".join(reasons) if blocked else "",
                                         task_reasons=task_reasons)
    return result


def case_blocked_sql(*, case_table: str, today: dt.date) -> tuple[str, list]:
    """The same rule as ``case_contactability``'s ``blocked``, as one SQL boolean over the
    row ``case_table`` (a table name or alias of retention_case in the enclosing query),
    with its parameters: for the nightly ranking's statements and the list's order. The
    same text on PostgreSQL and SQLite."""
    task, consent, contact = Task._meta.db_table, ContactConsent._meta.db_table, ContactLog._meta.db_table
    outbound = ", ".join(f"'{channel}'" for channel in OUTBOUND_CHANNELS)
    open_task = f"bt.case_id = {case_table}.id AND bt.status = '{TaskStatus.OPEN}'"
    sql = (
        f"(EXISTS (SELECT 1 FROM {task} bt WHERE {open_task}) "
        f"AND NOT EXISTS (SELECT 1 FROM {task} bt WHERE {open_task} "
        f"AND NOT EXISTS (SELECT 1 FROM {consent} bd WHERE bd.customer_id = {case_table}.customer_id "
        f"AND bd.channel = bt.channel AND bd.do_not_contact = %s AND bd.effective_on <= %s) "
        f"AND (bt.channel NOT IN ({outbound}) OR (SELECT COUNT(*) FROM {contact} bl "
        f"WHERE bl.customer_id = {case_table}.customer_id AND bl.channel IN ({outbound}) "
        f"AND bl.contacted_at >= %s) < %s)))"
    )
    params = [
        True,
        connection.ops.adapt_datefield_value(today),
        connection.ops.adapt_datetimefield_value(cap_window_start(today=today)),
        conf.contact_cap_count(),
    ]
    return sql, params


def case_blocked_expression(*, today: dt.date) -> RawSQL:
    """``case_blocked_sql`` as an annotation of a queryset of cases (``contact_blocked``)."""
    sql, params = case_blocked_sql(case_table=Case._meta.db_table, today=today)
    return RawSQL(sql, params, output_field=BooleanField())


def cases_with_contactability(*, cases: Iterable[Case], today: dt.date) -> list[Case]:
    """The cases, each with ``contact_blocked_reason`` (empty unless blocked: see
    ``case_contactability``), for the pages and the API to show. Three queries."""
    cases = list(cases)
    found = case_contactability(cases=cases, today=today)
    for case in cases:
        case.contact_blocked_reason = found[case.pk].reason if case.pk in found else ""
    return cases
