"""Role rules: what a member of staff may do, written once for the pages and the API.

Which *customers* a user sees is ``customers.selectors.customer_scope``; these
predicates answer the other question, which kinds of page or action a role may use
at all (docs/users.md). Pages answer a refusal with a 404, the API with a 403; both
ask here. Each predicate accepts an anonymous user and says no.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from customers.models import Customer, Role, User


def _signed_in(user: User | AnonymousUser) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def user_is_admin(user: User) -> bool:
    """Administrators: role ``admin``, or superusers (the audit trail, the whole bank)."""
    return _signed_in(user) and (user.is_superuser or user.role == Role.ADMIN)


def user_can_use_model_pages(user: User) -> bool:
    """Analysts and administrators: model versions, retraining, the nightly run, the data import."""
    return user_is_admin(user) or (_signed_in(user) and user.role == Role.ANALYST)


def user_can_read_branch_figures(user: User) -> bool:
    """Branch heads (their branch), analysts and administrators: the branch dashboard and
    the retention report, figures summed over customers."""
    return user_can_use_model_pages(user) or (_signed_in(user) and user.role == Role.HEAD)


REVEAL_PERMISSION = "customers.reveal_personal_data"


def user_can_reveal_personal_data(user: User | AnonymousUser) -> bool:
    """Whether ``user`` may see a masked field (ID number, phone) in full, on a customer
    already in their scope. Granted per user or group in the admin (permission
    ``customers.reveal_personal_data``), not by role; superusers have it."""
    return _signed_in(user) and user.has_perm(REVEAL_PERMISSION)


def user_can_reach_customer(user: User | AnonymousUser, customer: Customer) -> bool:
    """Whether ``user`` may see the customer's phone number in full, to call them: the RM who
    owns the customer, the branch head and the lobby manager of the customer's branch, and
    administrators (superusers too). Staff granted ``customers.reveal_personal_data`` may as
    well, on a customer in their scope. A colleague RM of the branch may not: the customer
    is not theirs to call."""
    if not _signed_in(user):
        return False
    assert isinstance(user, User), "a signed-in user is a staff user"
    if user_is_admin(user):
        return True
    if user.role == Role.RM and customer.rm_id is not None and customer.rm_id == user.pk:
        return True
    if user.role in (Role.HEAD, Role.LOBBY) and user.branch_id is not None and customer.branch_id == user.branch_id:
        return True
    # Last, as it reads the user's permissions from the database (once per request).
    return user_can_reveal_personal_data(user)


def user_can_override_segment(user: User) -> bool:
    """Relationship managers, branch heads and administrators set a customer's segment by hand."""
    return _signed_in(user) and (user.is_superuser or user.role in (Role.RM, Role.HEAD, Role.ADMIN))


def user_can_hand_over(user: User) -> bool:
    """The lobby manager (and the branch head, who covers the lobby) hands a walk-in to the
    RM; superusers may too. An RM has nobody to hand over to."""
    return _signed_in(user) and (user.is_superuser or user.role in (Role.LOBBY, Role.HEAD))


def user_gets_digest(user: User) -> bool:
    """The daily digest (their tasks, overdue work, new high-value cases): the branch roles,
    relationship managers, lobby managers and branch heads; an analyst has no case work."""
    return _signed_in(user) and user.role in (Role.RM, Role.LOBBY, Role.HEAD)


def user_can_reassign_cases(user: User) -> bool:
    """The branch head (within their branch) and administrators move open cases, with their
    open RM tasks, from one RM to another of the same branch."""
    return user_is_admin(user) or (_signed_in(user) and user.role == Role.HEAD)
