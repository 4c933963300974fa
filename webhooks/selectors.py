"""Every read of webhooks, scoped to the caller's organisation."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from portal.models import Organisation
from webhooks.models import WebhookDelivery, WebhookEndpoint

LOG_SIZE = 50


def endpoints_of(*, organisation: Organisation) -> QuerySet[WebhookEndpoint]:
    """The organisation's endpoints, active first, newest first."""
    return WebhookEndpoint.objects.filter(organisation=organisation).order_by("-active", "-created_at")


def endpoint_of(*, organisation: Organisation, endpoint_id: int) -> WebhookEndpoint:
    """The organisation's endpoint `endpoint_id`; Http404 for any other (another organisation's)."""
    return get_object_or_404(WebhookEndpoint, pk=endpoint_id, organisation=organisation)


def deliveries_log(*, organisation: Organisation, limit: int = LOG_SIZE) -> list[WebhookDelivery]:
    """The organisation's last `limit` deliveries, newest first, with their endpoint."""
    return list(
        WebhookDelivery.objects.filter(endpoint__organisation=organisation)
        .select_related("endpoint")
        .order_by("-created_at", "-pk")[:limit]
    )
