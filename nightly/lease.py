"""One run per date at a time: a lease that a killed process does not keep.

On PostgreSQL the lease is a session-level advisory lock (``pg_try_advisory_lock``)
on the holder's database connection: the server drops it when the connection
ends, so a process killed with SIGKILL (or whose connection is cut) releases it
at once, and no row has to be cleaned up. A rolled-back transaction does not
release it; ``release`` does.

SQLite has no such lock, so the lease is a row (``NightlyLease``) naming its
holder ("host:pid:token") and when it was last renewed. Another process takes it
over when the holder stopped renewing it for ``NIGHTLY_LEASE_SECONDS``, or at once
when the holder is a process of this machine that no longer exists (a SQLite
database is one machine's file, so that check covers every holder there can be).
The holder renews between chunks and stages; the lease period must exceed the
longest of those (the alerts stage on a large bank), hence a generous default.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from nightly import conf
from nightly.models import NightlyLease

logger = logging.getLogger(__name__)

# First key of the two-key advisory lock: this app's namespace ("nl"); the second is the date.
_ADVISORY_NAMESPACE = 0x6E6C


class LeaseBusy(Exception):
    """Another process is running the night of that date."""

    def __init__(self, run_date: dt.date, holder: str = ""):
        super().__init__(f"another process is running the night of {run_date}" + (f" ({holder})" if holder else ""))
        self.run_date = run_date


class LeaseLost(Exception):
    """The lease was taken over (its holder looked dead): stop before writing more."""


class Lease:
    def __init__(self, *, run_date: dt.date, holder: str):
        self.run_date = run_date
        self.holder = holder

    def renew(self) -> None:
        """Show this holder is alive (SQLite); raises ``LeaseLost`` if another took the lease over."""
        if connection.vendor == "postgresql":
            return
        renewed = NightlyLease.objects.filter(run_date=self.run_date, holder=self.holder).update(
            renewed_at=timezone.now()
        )
        if renewed != 1:
            raise LeaseLost(f"the lease on {self.run_date} was taken over")


@contextmanager
def nightly_lease(*, run_date: dt.date) -> Iterator[Lease]:
    """Hold the run of ``run_date`` for the duration; raises ``LeaseBusy`` when another process holds it."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_ADVISORY_NAMESPACE, run_date.toordinal()])
            if not cursor.fetchone()[0]:
                raise LeaseBusy(run_date)
        try:
            yield Lease(run_date=run_date, holder=holder)
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_ADVISORY_NAMESPACE, run_date.toordinal()])
            except DatabaseError:
                # The connection is gone (or broken): the server released the lock with it.
                logger.warning("nightly lease on %s: released with the lost connection", run_date)
        return
    _row_lease_take(run_date=run_date, holder=holder)
    try:
        yield Lease(run_date=run_date, holder=holder)
    finally:
        NightlyLease.objects.filter(run_date=run_date, holder=holder).delete()


def _row_lease_take(*, run_date: dt.date, holder: str) -> None:
    now = timezone.now()
    current = NightlyLease.objects.filter(run_date=run_date).first()
    if current is None:
        try:
            with transaction.atomic():
                NightlyLease.objects.create(run_date=run_date, holder=holder, renewed_at=now)
            return
        except IntegrityError:
            raise LeaseBusy(run_date) from None  # another process took it this instant
    if not _holder_gone(current, now=now):
        raise LeaseBusy(run_date, current.holder)
    # Conditional on the row being as we read it: of two processes taking over the same
    # dead holder's lease, exactly one updates a row.
    taken = NightlyLease.objects.filter(pk=current.pk, holder=current.holder,
                                        renewed_at=current.renewed_at).update(holder=holder, renewed_at=now)
    if taken != 1:
        raise LeaseBusy(run_date)
    logger.warning("nightly lease on %s taken over from %s", run_date, current.holder)


def _holder_gone(lease: NightlyLease, *, now: dt.datetime) -> bool:
    if lease.renewed_at < now - dt.timedelta(seconds=conf.lease_seconds()):
        return True
    host, _, rest = lease.holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, under another user
    return False
