"""The API's JSON parser: malformed, too deep or too large a body is a 400, never a 500."""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, bounded. Python's json module recurses once per nesting level,
    so 100,000 ``[`` raise RecursionError (a 500 in DRF's parser); and DRF reads the body
    from the stream, past Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, which only guards
    ``request.body`` and forms. Both become a 400 with a JSON body here."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is not None and limit is not None:
            data = stream.read(limit + 1)
            if len(data) > limit:
                raise ParseError(f"JSON body larger than {limit} bytes.")
            stream = io.BytesIO(data)
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None

