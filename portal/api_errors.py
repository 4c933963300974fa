"""One error shape for the whole API: {"errors": [{"field", "rule", "message", "expected"}]}."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from dossiers.errors import InvalidInput
from dossiers.states import TransitionNotAllowed


def _flatten(detail, prefix: str = "") -> list[dict[str, str]]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            field = key if key != "non_field_errors" else ""
            out += _flatten(value, f"{prefix}.{field}" if prefix and field else (field or prefix))
        return out
    if isinstance(detail, list):
        return [item for value in detail for item in _flatten(value, prefix)]
    return [
        {"field": prefix, "rule": getattr(detail, "code", "invalid"), "message": str(detail), "expected": ""}
    ]


def exception_handler(exc, context):
    if isinstance(exc, InvalidInput):
        return Response({"errors": exc.as_list()}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, TransitionNotAllowed):
        return Response(
            {
                "errors": [
                    {
                        "field": "state",
                        "rule": "transition_not_allowed",
                        "message": exc.message,
                        "expected": exc.from_state,
                    }
                ]
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, RequestDataTooBig):
        # Raised by Django when the view reads the body; left alone it is an HTML 400 page.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {
                "errors": [
                    {
                        "field": "",
                        "rule": "too_large",
                        "message": _("Requête trop volumineuse."),
                        "expected": _("%(n)d octets au plus") % {"n": limit},
                    }
                ]
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        return Response(
            {
                "errors": [
                    {"field": "", "rule": e.code or "invalid", "message": m, "expected": ""}
                    for e in exc.error_list
                    for m in e.messages
                ]
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    # A field named "detail" would be a list of errors; DRF's own "detail" (a malformed body, a
    # refused permission) is one error about no field.
    whole = (
        response is not None
        and isinstance(response.data, dict)
        and isinstance(response.data.get("detail"), str)
    )
    if response is not None and response.status_code == 400 and not whole:
        response.data = {"errors": _flatten(response.data)}
    elif whole:
        detail = response.data["detail"]
        response.data = {
            "errors": [
                {
                    "field": "",
                    "rule": getattr(detail, "code", "error"),
                    "message": str(detail),
                    "expected": "",
                }
            ]
        }
    return response
