from typing import Any, cast

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save
from django.dispatch import receiver

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGIN, request=request, actor=user)


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action=AuditAction.LOGOUT, request=request, actor=user)


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    # Only the user name is kept: never the password that was tried.
    audit_record(
        action=AuditAction.LOGIN_FAILED, request=request, actor_name=str(credentials.get("username", ""))[:150]
    )


ADMIN_ACTIONS = {ADDITION: "add", CHANGE: "change", DELETION: "delete"}


@receiver(post_save, sender=LogEntry)
def _on_admin_change(sender, instance: LogEntry, created: bool, **kwargs):
    """Every change made in the Django admin is in its own log (LogEntry); each new entry
    becomes an audit event too, so the trail has no gap for what the admin changes. The
    entry names the object by type and id; a customer's change is filed under the customer."""
    if not created:
        return
    # django-stubs declares LogEntry's foreign keys without their targets: named here. The
    # user is the project's User, a model of the customers app, which audit does not import.
    content_type = cast(ContentType | None, instance.content_type)
    user = cast(Any, instance.user)
    label = f"{content_type.app_label}.{content_type.model}" if content_type is not None else ""
    customer_id = None
    if label == "customers.customer" and instance.action_flag != DELETION:
        customer_id = int(instance.object_id) if str(instance.object_id).isdigit() else None
    AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if instance.user_id else "",
        action=AuditAction.CHANGE,
        object_type=label[:64],
        object_id=str(instance.object_id or "")[:64],
        customer_id=customer_id,
        detail={"via": "admin", "admin_action": ADMIN_ACTIONS.get(instance.action_flag, str(instance.action_flag)),
                "message": instance.get_change_message()[:500]},
    )
