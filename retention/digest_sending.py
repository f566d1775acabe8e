"""Writes: the morning job of the team's day, and the digest emails it sends.

``daily_digest_run`` (the Celery task on the beat schedule at ``RETENTION_DIGEST_HOUR``, and
``manage.py send_digests``) first escalates overdue tasks (``retention.escalation``), so the
heads' digests carry them, then sends each relationship manager, lobby manager and branch
head their digest (``retention.digest``) through Django's mail framework, plain text and
HTML, in their language (``User.language``, else the bank's ``LANGUAGE_CODE``).

Idempotent per member of staff and day: a ``DigestSent`` row is claimed (unique staff and
day) before the mail goes out, so a rerun or a second worker sends nothing twice; a mail the
server refused gives its claim back, so the next run tries again. Staff without an email
address are skipped and counted, as are those with nothing in their digest.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from customers.models import Role, User
from retention import conf
from retention.digest import Digest, digest_for_user
from retention.escalation import tasks_escalate
from retention.models import DigestSent

logger = logging.getLogger(__name__)

DIGEST_ROLES = (Role.RM, Role.LOBBY, Role.HEAD)


@dataclass
class DigestRun:
    day: str
    escalated: int = 0
    sent: int = 0
    already_sent: int = 0
    no_email: int = 0
    nothing_to_say: int = 0
    failed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def digest_recipients() -> QuerySet[User]:
    """Active relationship managers, lobby managers and branch heads (analysts and
    administrators have no case work of their own)."""
    return User.objects.filter(is_active=True, role__in=DIGEST_ROLES).select_related("branch").order_by("pk")


def staff_language(user: User) -> str:
    return user.language or settings.LANGUAGE_CODE


def digest_message(*, digest: Digest, language: str) -> EmailMultiAlternatives:
    """The digest as an email (plain text with an HTML alternative) in ``language``."""
    site = conf.site_url()
    with translation.override(language):
        context = {
            "digest": digest, "user": digest.user, "site": site, "language": language,
            "digest_url": site + reverse("retention:digest"),
            "list_url": site + reverse("retention:case_list"),
            "bank_name": settings.BANK_NAME,
        }
        subject = _("Your day, %(date)s: %(due)d due today, %(overdue)d overdue") % {
            "date": digest.day.isoformat(), "due": digest.due_today.count, "overdue": digest.overdue.count}
        text = render_to_string("retention/email/digest.txt", context)
        html = render_to_string("retention/email/digest.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[digest.user.email])
    message.attach_alternative(html, "text/html")
    return message


def digests_send(*, day: dt.date) -> DigestRun:
    """Send ``day``'s digest to every member of staff who has none yet for that day."""
    run = DigestRun(day=day.isoformat())
    for user in digest_recipients():
        if not user.email:
            run.no_email += 1
            continue
        digest = digest_for_user(user=user, day=day)
        if digest.is_empty:
            run.nothing_to_say += 1
            continue
        language = staff_language(user)
        try:
            with transaction.atomic():
                claim = DigestSent.objects.create(staff=user, day=day, email=user.email, language=language,
                                                  counts=digest.counts)
        except IntegrityError:
            run.already_sent += 1
            continue
        try:
            digest_message(digest=digest, language=language).send()
        except (smtplib.SMTPException, OSError):
            # Not sent: give the claim back, so the next run tries this one again.
            logger.warning("digest for %s on %s not sent", user.pk, day, exc_info=True)
            claim.delete()
            run.failed += 1
            continue
        run.sent += 1
    return run


def daily_digest_run(*, day: dt.date) -> DigestRun:
    """The morning job: escalate overdue tasks, then send the digests."""
    escalated = tasks_escalate(today=day)
    run = digests_send(day=day)
    run.escalated = escalated
    logger.info("daily digest %s", run.as_dict())
    return run
