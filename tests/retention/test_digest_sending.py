"""retention.digest_sending and its two callers (the beat task, ``manage.py send_digests``): each
member of staff gets one digest a day, in their language, plain text and HTML; reruns send nothing twice."""

from __future__ import annotations

import datetime as dt
import smtplib
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from customers.models import Role
from retention.digest_sending import daily_digest_run, digests_send
from retention.models import DigestSent
from retention.tasks import daily_digest_task
from tests.retention.conftest import RUN_DATE
from tests.retention.factories import CaseFactory, CustomerFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(bank, settings):
    """Something due today for the owner; everyone but the colleague has an email address."""
    settings.SITE_URL = "https://retention.bank.example"
    settings.RETENTION_ESCALATE_AFTER_DAYS = 2
    for user, email in ((bank.owner, "owner@bank.example"), (bank.lobby, "lobby@bank.example"),
                        (bank.head, "head@bank.example"), (bank.outsider, "outsider@bank.example")):
        user.email = email
        user.save()
    case = CaseFactory(customer=bank.customer, opened_on=RUN_DATE - dt.timedelta(days=10))
    TaskFactory(case=case, due_on=RUN_DATE, text_zh="致电客户确认到期资金去向", text_en="Call about the maturing funds")
    TaskFactory(case=case, due_on=RUN_DATE - dt.timedelta(days=3), text_en="Send the product sheet",
                text_zh="发送产品说明")
    return bank


def test_each_member_of_staff_with_something_to_do_gets_one_mail(work):
    UserFactory(username="analyst", role=Role.ANALYST, email="analyst@bank.example")

    # A new high-value case of the branch: the head's and the lobby's digests have it too.
    CaseFactory(customer=CustomerFactory(branch=work.branch, rm=work.colleague), opened_on=RUN_DATE,
                priority=80_000)

    run = digests_send(day=RUN_DATE)

    assert sorted(message.to[0] for message in mail.outbox) == ["head@bank.example", "lobby@bank.example",
                                                                "owner@bank.example"]
    assert run.sent == 3 and run.no_email == 1  # the colleague
    assert run.nothing_to_say == 1  # the outsider: nothing due, no new case in their scope
    assert set(DigestSent.objects.values_list("staff__username", "day")) == {
        ("rm_owner", RUN_DATE), ("head", RUN_DATE), ("lobby", RUN_DATE)}


def test_the_mail_has_text_and_html_with_the_tasks_and_links(work):
    work.owner.language = "en"
    work.owner.save()
    digests_send(day=RUN_DATE)

    message = next(m for m in mail.outbox if m.to == ["owner@bank.example"])
    assert message.subject == "Your day, 2024-05-15: 1 due today, 1 overdue"
    assert "Call about the maturing funds" in message.body and "Send the product sheet" in message.body
    assert "https://retention.bank.example/digest/" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and "Call about the maturing funds" in html
    assert f"https://retention.bank.example/customers/{work.customer.pk}/" in html


def test_the_mail_is_in_the_banks_language_for_staff_who_chose_none(work, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    digests_send(day=RUN_DATE)

    message = next(m for m in mail.outbox if m.to == ["owner@bank.example"])
    assert "致电客户确认到期资金去向" in message.body and "今日截止" in message.body
    assert DigestSent.objects.get(staff=work.owner).language == "zh-hans"


def test_a_rerun_on_the_same_day_sends_nothing_twice_and_the_next_day_sends_again(work):
    digests_send(day=RUN_DATE)
    rerun = digests_send(day=RUN_DATE)

    assert rerun.sent == 0 and rerun.already_sent == 1 and len(mail.outbox) == 1
    tomorrow = digests_send(day=RUN_DATE + dt.timedelta(days=1))  # the tasks are overdue then
    assert tomorrow.sent == 1 and len(mail.outbox) == 2


def test_a_mail_the_server_refused_is_tried_again_on_the_next_run(work, monkeypatch):
    from django.core.mail import EmailMultiAlternatives

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    failed = digests_send(day=RUN_DATE)
    assert failed.failed == 1 and failed.sent == 0 and not DigestSent.objects.exists()

    monkeypatch.undo()
    again = digests_send(day=RUN_DATE)
    assert again.sent == 1 and len(mail.outbox) == 1


def test_the_daily_job_escalates_before_it_builds_the_heads_digest(work):
    run = daily_digest_run(day=RUN_DATE)

    assert run.escalated == 1
    head_mail = next(m for m in mail.outbox if m.to == ["head@bank.example"])
    assert "发送产品说明" in head_mail.body  # escalated to the head, in the bank's language
    assert DigestSent.objects.get(staff=work.head).counts["escalated"] == 1


def test_the_beat_task_runs_the_daily_job_for_the_given_day(work):
    result = daily_digest_task.apply(kwargs={"day": RUN_DATE.isoformat()}).get()

    # The owner, and the head (escalated).
    assert result["sent"] == 2 and result["escalated"] == 1 and result["day"] == "2024-05-15"


def test_the_beat_schedule_runs_the_task_at_the_digest_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["retention-daily-digest"]
    assert entry["task"] == daily_digest_task.name
    assert entry["schedule"].hour == {settings.RETENTION_DIGEST_HOUR}


def test_the_command_sends_the_days_digests_and_reports_the_counts(work):
    out = StringIO()
    call_command("send_digests", "--date", RUN_DATE.isoformat(), stdout=out)
    call_command("send_digests", "--date", RUN_DATE.isoformat(), stdout=out)

    assert len(mail.outbox) == 2  # the owner, and the head (escalated)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("2024-05-15: 1 tasks escalated; digests sent 2") and "no email 1" in lines[0]
    assert "digests sent 0, already sent 2" in lines[1]


def test_the_command_refuses_a_malformed_date(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_digests", "--date", "15/05/2024")


def test_an_inactive_member_of_staff_gets_no_digest(work):
    work.owner.is_active = False
    work.owner.save()
    CustomerFactory(branch=work.branch, rm=work.owner)

    digests_send(day=RUN_DATE)

    assert "owner@bank.example" not in [m.to[0] for m in mail.outbox]
