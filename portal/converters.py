"""URL converters shared by every app's routes."""

from django.urls import register_converter


class ReferenceConverter:
    """A dossier reference in a URL (CG-<year>-<digits>, in any case). Anything else (a NUL byte,
    a 100 kB string) matches no route, so it is the same 404 as an unknown dossier and never
    reaches the database."""

    regex = r"[A-Za-z0-9-]{1,20}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "reference")
