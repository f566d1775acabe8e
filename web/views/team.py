"""The team's pages: the daily digest (``/digest/``) and the head's bulk reassign from the
case list.

Reads through ``retention.digest`` (the selector the morning email uses too), writes through
``retention.reassigning``, which audits. An RM, the lobby or an analyst posting a reassign
gets a 404, as for a case out of scope; the attempt is audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from audit.services import origin_from_request
from customers.permissions import user_can_reassign_cases, user_gets_digest, user_is_admin
from customers.services import customer_data_shown
from retention import conf
from retention.digest import digest_for_user
from retention.reassigning import cases_reassign, reassign_refused
from web.forms.team import ReassignForm


@login_required
@require_GET
def digest(request: HttpRequest) -> HttpResponse:
    """Today's digest of the signed-in member of staff: what the morning email said, now."""
    if not (user_gets_digest(request.user) or user_is_admin(request.user)):
        raise Http404
    today = timezone.localdate()
    the_digest = digest_for_user(user=request.user, day=today)
    shown = [*the_digest.due_today.rows, *the_digest.overdue.rows, *the_digest.escalated.rows]
    customer_ids = list(dict.fromkeys([task.case.customer.customer_id for task in shown]
                                      + [case.customer.customer_id for case in the_digest.new_cases.rows]))
    customer_data_shown(origin=origin_from_request(request), what="digest", filters={}, customer_ids=customer_ids)
    return render(request, "retention/digest.html", {"digest": the_digest, "today": today,
                                                     "escalate_after_days": conf.escalate_after_days()})


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("retention:case_list")


@login_required
@require_POST
def case_reassign(request: HttpRequest) -> HttpResponse:
    """The head's bulk reassign: the ticked cases of the list, with their open RM tasks, to one RM."""
    origin = origin_from_request(request)
    if not user_can_reassign_cases(request.user):
        reassign_refused(origin=origin)
        raise Http404
    form = ReassignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(str(message) for errors in form.errors.values() for message in errors))
        return redirect(_back(request))
    to = form.cleaned_data["to"]
    try:
        result = cases_reassign(user=request.user, case_ids=form.cleaned_data["case"], to=to, origin=origin)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_back(request))
    except PermissionDenied as exc:  # a case out of scope: audited by the service
        raise Http404 from exc
    messages.success(request, reassigned_message(moved=len(result.moved), tasks=result.tasks_moved,
                                                 unchanged=len(result.unchanged), to=str(to)))
    return redirect(_back(request))


def reassigned_message(*, moved: int, tasks: int, unchanged: int, to: str) -> str:
    text = ngettext("%(count)d case and its %(tasks)d open tasks reassigned to %(rm)s.",
                    "%(count)d cases and their %(tasks)d open tasks reassigned to %(rm)s.", moved) % {
        "count": moved, "tasks": tasks, "rm": to}
    if unchanged:
        text += " " + ngettext("%(count)d was already theirs.", "%(count)d were already theirs.", unchanged) % {
            "count": unchanged}
    return text
