"""Errors as JSON, with messages that say what went wrong without saying what exists."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    # Services raise Django's ValidationError / PermissionDenied; the API answers them as DRF would.
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail={"detail": exc.messages})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        # RequestDataTooBig, TooManyFilesSent, TooManyFieldsSent... raised while a view reads
        # the body: bad input, answered in JSON like every other refusal (not Django's HTML 400).
        exc = exceptions.ParseError(detail="Bad request: the body is too large or malformed.")
    return exception_handler(exc, context)
