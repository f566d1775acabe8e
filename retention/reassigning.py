"""Writes: the branch head moves open cases, with their open RM tasks, to another RM.

One action for one or many cases (the head's case list, the API). The head acts within
their branch, an administrator within any; the new owner must be an active relationship
manager of the cases' branch. Each case moved gets a ``reassigned`` ``CaseEvent`` (from,
to, by) and an audit event. The customer moves with the case (``Customer.rm``): the RM's
list and the customer 360 are scoped by it, and the nightly job gives a case back to its
customer's RM (``retention.raising``), so without it the move would not last the night. A
later ``customers.csv`` naming another RM moves the customer again, as the bank decides.

A case already owned by the target is left as it is (counted unchanged), so repeating the
action changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import AuditOrigin, audit_denied, audit_record
from customers.models import Customer, Role, User
from customers.permissions import user_can_reassign_cases, user_is_admin
from retention.models import OPEN_STATUSES, Case, CaseEvent, OwnerRole, Task, TaskStatus
from retention.selectors import case_scope_for_user
from retention.summary import dashboard_summary_refresh_for_case

# More in one action than a branch head could have looked at: refused, not truncated.
MAX_CASES = 500


@dataclass
class Reassigned:
    to: User
    moved: list[int] = field(default_factory=list)  # case ids
    unchanged: list[int] = field(default_factory=list)  # already the target's
    tasks_moved: int = 0


def reassign_targets_for_user(*, user: User) -> QuerySet[User]:
    """The relationship managers ``user`` may hand cases to: the active RMs of the head's
    branch; for an administrator every active RM with a branch. None for anyone else."""
    rms = User.objects.filter(is_active=True, role=Role.RM, branch__isnull=False).select_related("branch")
    if not user_can_reassign_cases(user):
        return rms.none()
    if not user_is_admin(user):
        rms = rms.filter(branch_id=user.branch_id) if user.branch_id else rms.none()
    return rms.order_by("branch__code", "display_name", "username")


def reassign_refused(*, origin: AuditOrigin) -> None:
    """A reassign by somebody who may not (an RM, the lobby, an analyst): answered 404 by the
    pages, 403 by the API, and audited as refused."""
    audit_denied(origin=origin, object_type="retention.case", reason="reassign")


def _ids(case_ids: Iterable[int | str]) -> list[int]:
    try:
        ids = sorted({int(pk) for pk in case_ids})
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("Choose the cases to reassign.")) from exc
    if not ids:
        raise ValidationError(_("Choose the cases to reassign."))
    if len(ids) > MAX_CASES:
        raise ValidationError(_("Reassign at most %(max)d cases at a time.") % {"max": MAX_CASES})
    return ids


def cases_reassign(
    *, user: User, case_ids: Iterable[int | str], to: User, origin: AuditOrigin | None = None
) -> Reassigned:
    """Move the open cases ``case_ids`` and their open RM tasks to the RM ``to``.

    PermissionDenied: the user may not reassign (an RM, the lobby, an analyst), or a case is
    out of their scope (another branch's; pages and API answer 404, the attempt is audited
    given ``origin``). ValidationError: ``to`` is not an active RM of the cases' branch, or a
    case is closed. All or nothing."""
    if not user_can_reassign_cases(user):
        raise PermissionDenied(_("Only the branch head reassigns cases."))
    ids = _ids(case_ids)
    # Out of scope is refused before the transaction, so that the refusal's audit event stays.
    found = set(case_scope_for_user(user=user).filter(pk__in=ids).values_list("pk", flat=True))
    if found != set(ids):
        if origin is not None:
            audit_denied(origin=origin, object_type="retention.case",
                         object_id=",".join(str(pk) for pk in ids if pk not in found)[:64], reason="reassign")
        raise PermissionDenied(_("You cannot act on this case."))
    with transaction.atomic():
        return _reassign(user=user, ids=ids, to=to, origin=origin)


def _reassign(*, user: User, ids: list[int], to: User, origin: AuditOrigin | None) -> Reassigned:
    # Locked, as every staff action and the night's update lock a case (retention.case_services).
    cases = list(
        case_scope_for_user(user=user).filter(pk__in=ids).select_for_update(of=("self",))
        .select_related("customer", "owner").order_by("pk")
    )
    if len(cases) != len(ids):  # gone since the check above
        raise PermissionDenied(_("You cannot act on this case."))
    if not to.is_active or to.role != Role.RM:
        raise ValidationError(_("Cases go to a relationship manager."))
    closed = [case for case in cases if case.status not in OPEN_STATUSES]
    if closed:
        raise ValidationError(_("%(customer)s's case is closed; only open cases are reassigned.")
                              % {"customer": closed[0].customer.name})
    elsewhere = [case for case in cases if case.branch_id != to.branch_id or case.customer.branch_id != to.branch_id]
    if elsewhere:
        raise ValidationError(_("%(rm)s is not of the branch of %(customer)s's case.")
                              % {"rm": to, "customer": elsewhere[0].customer.name})

    result = Reassigned(to=to)
    previous: dict[int | None, Case] = {}
    now = timezone.now()
    for case in cases:
        if case.owner_id == to.pk and case.customer.rm_id == to.pk:
            result.unchanged.append(case.pk)
            continue
        before = case.owner_id
        tasks = Task.objects.filter(case=case, status=TaskStatus.OPEN, owner_role=OwnerRole.RM).exclude(owner=to)
        moved_tasks = tasks.update(owner=to)
        Case.objects.filter(pk=case.pk).update(owner=to, updated_at=now)
        Customer.objects.filter(pk=case.customer_id).update(rm=to)
        CaseEvent.objects.create(
            case=case, actor=user, action=CaseEvent.Action.REASSIGNED, from_status=case.status,
            to_status=case.status,
            data={"owner_before": before, "owner": to.pk, "by": user.pk, "tasks_moved": moved_tasks},
        )
        if origin is not None:
            audit_record(action=AuditAction.CHANGE, origin=origin, obj=case, customer=case.customer,
                         detail={"case_action": "reassign", "owner_before": before, "owner": to.pk,
                                 "tasks_moved": moved_tasks})
        result.moved.append(case.pk)
        result.tasks_moved += moved_tasks
        previous.setdefault(before, case)
    # The dashboard's per-owner rows of the owners the cases left and of the new one, once per
    # previous owner (the report's rows do not depend on the owner).
    today = timezone.localdate()
    for owner_before, moved in previous.items():
        moved.owner = to
        dashboard_summary_refresh_for_case(case=moved, today=today, previous_owner_id=owner_before)
    return result
