"""``Authorization: Bearer <token>`` for integrations."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from api.models import ApiToken, token_digest
from audit.models import AuditAction
from audit.services import audit_record

KEYWORD = "Bearer"
# last_used_at is a hint for administrators, not an audit record: one write a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        try:
            plaintext = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        # Looked up by digest: the database compares hashes, never the secret itself.
        token = ApiToken.objects.usable().select_related("user", "user__branch").filter(
            digest=token_digest(plaintext)
        ).first()
        if token is None:
            audit_record(action=AuditAction.LOGIN_FAILED, request=request._request,
                         detail={"via": "api_token", "prefix": plaintext[:4]})
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD
