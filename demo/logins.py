"""Demo logins: one user per role, picked from the imported staff so that each
login has real customers behind it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from customers.models import Role, User


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    branch: str


# Fixed, printed passwords: this is a demo bank on a developer's machine.
# Keyed by the role's stored value, which is what a user's role field holds.
_PASSWORDS: dict[str, str] = {
    Role.RM: "demo-rm-2026",
    Role.LOBBY: "demo-lobby-2026",
    Role.HEAD: "demo-head-2026",
    Role.ANALYST: "demo-analyst-2026",
    Role.ADMIN: "demo-admin-2026",
}


@transaction.atomic
def demo_logins_create() -> list[DemoLogin]:
    """Give one imported staff member per role a password (the RM with the most
    customers, then that RM's lobby manager and branch head, and an analyst), and
    create an ``admin`` superuser. Running it again resets the same passwords."""
    rm = (
        User.objects.filter(role=Role.RM)
        .annotate(n=Count("customers"))
        .order_by("-n", "staff_code")
        .select_related("branch")
        .first()
    )
    if rm is None:
        raise ValueError("no relationship managers imported yet")
    chosen: list[User] = [rm]
    for role in (Role.LOBBY, Role.HEAD):
        colleague = User.objects.filter(role=role, branch=rm.branch).order_by("staff_code").first()
        if colleague is not None:
            chosen.append(colleague)
    analyst = User.objects.filter(role=Role.ANALYST).order_by("staff_code").first()
    if analyst is not None:
        chosen.append(analyst)

    logins = []
    for user in chosen:
        user.set_password(_PASSWORDS[user.role])
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        logins.append(DemoLogin(user.role, user.username, _PASSWORDS[user.role], str(user.branch or "")))

    admin, _ = User.objects.get_or_create(username="admin", defaults={"role": Role.ADMIN, "display_name": "Admin"})
    admin.role = Role.ADMIN
    admin.is_staff = admin.is_superuser = admin.is_active = True
    admin.set_password(_PASSWORDS[Role.ADMIN])
    admin.save()
    logins.append(DemoLogin(Role.ADMIN, admin.username, _PASSWORDS[Role.ADMIN], ""))
    return logins


@transaction.atomic
def demo_complaints_record(*, max_score: int = 2) -> int:
    """Stand in for the branch's own complaint log, which no bank export carries:
    every survey scored ``max_score`` or less becomes a complaint that the
    branch's lobby manager logged that day. Idempotent."""
    import datetime as dt

    from django.utils import timezone

    from customers.models import ContactChannel, ContactLog, ContactResult, Survey

    lobby_by_branch = dict(
        User.objects.filter(role=Role.LOBBY).order_by("branch_id", "staff_code").values_list("branch_id", "pk")
    )
    already = set(
        ContactLog.objects.filter(result=ContactResult.COMPLAINT).values_list("customer_id", "contacted_at")
    )
    tz = timezone.get_current_timezone()
    new = []
    for customer_id, branch_id, surveyed_on, comment in Survey.objects.filter(score__lte=max_score).values_list(
        "customer_id", "customer__branch_id", "surveyed_on", "comment"
    ):
        staff_id = lobby_by_branch.get(branch_id)
        contacted_at = dt.datetime.combine(surveyed_on, dt.time(10, 0), tzinfo=tz)
        if staff_id is None or (customer_id, contacted_at) in already:
            continue
        new.append(
            ContactLog(
                customer_id=customer_id, staff_id=staff_id, contacted_at=contacted_at,
                channel=ContactChannel.BRANCH, result=ContactResult.COMPLAINT, note=comment,
            )
        )
    ContactLog.objects.bulk_create(new, batch_size=2000)
    return len(new)
