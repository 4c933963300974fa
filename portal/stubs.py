"""Placeholders for pages being built in parallel (issue 13); each app replaces its own entries.

Every placeholder answers 404, so that no half-built page is ever served."""

from django.http import Http404


def not_built(request, **kwargs):
    raise Http404
