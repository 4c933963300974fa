"""The API's JSON parser: DRF's, with a body nested too deep answered as a 400 like any bad JSON.

Python's JSON decoder recurses once per nested array or object and raises RecursionError past the
interpreter's limit (about 1,000 levels, a 2 kB body); DRF catches only ValueError, so that body
was a 500 on every JSON endpoint.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("Corps JSON trop profondément imbriqué."), code="json_depth") from exc
