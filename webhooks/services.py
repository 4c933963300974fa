"""Every write of webhooks: endpoints, the deliveries owed to them, and their attempts."""

import hashlib
import hmac
import http.client
import json
import secrets
import socket
import ssl
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from cert_workflow.enqueue import task_enqueue
from dossiers.models import Dossier, State
from portal.models import Organisation, User
from webhooks.addresses import url_resolve
from webhooks.models import DeliveryState, EventType, WebhookDelivery, WebhookEndpoint

DELIVER_TASK = "webhooks.tasks.deliver"
TIMEOUT_SECONDS = 5
# Backoff: 30 s, 1 min, 2 min ... capped at 2 h between attempts; 24 h after the event, it fails.
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=2)
GIVE_UP_AFTER = timedelta(hours=24)
# An attempt holds its delivery this long: a run that crashed mid-attempt is retried after it.
LEASE = timedelta(minutes=2)
RETRY_CHUNK = 200


def endpoint_create(*, organisation: Organisation, url: str, created_by: User) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint of `organisation` and its secret (to show once); ValidationError on
    field "url" when the URL is not https or leads to a non-public address."""
    url = url.strip()
    url_resolve(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(
        organisation=organisation, url=url, secret=secret, created_by=created_by
    )
    return endpoint, secret


def endpoint_deactivate(*, endpoint: WebhookEndpoint) -> None:
    """Stop sending to `endpoint`; its pending deliveries fail at their next attempt."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
        active=False, deactivated_at=timezone.now()
    )


def signature_of(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-Webhook-Signature value: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def deliveries_record(changes: list[tuple[int, int | None, str, str]], now: datetime) -> int:
    """Write, in the caller's transaction, one delivery per change of a dossier whose organisation
    has active endpoints, per endpoint (one multi-row insert); enqueue their sending after commit.
    No query at all when no change concerns an organisation."""
    organisation_ids = {
        organisation_id for _, organisation_id, _, _ in changes if organisation_id is not None
    }
    if not organisation_ids:
        return 0
    endpoints: dict[int, list[int]] = {}
    for endpoint_id, organisation_id in WebhookEndpoint.objects.filter(
        organisation_id__in=organisation_ids, active=True
    ).values_list("pk", "organisation_id"):
        endpoints.setdefault(organisation_id, []).append(endpoint_id)
    if not endpoints:
        return 0
    concerned = [change for change in changes if change[1] in endpoints]
    references = dict(
        Dossier.objects.filter(pk__in=[change[0] for change in concerned]).values_list("pk", "reference")
    )
    labels = dict(State.choices)
    deliveries = []
    for dossier_id, organisation_id, from_state, to_state in concerned:
        for endpoint_id in endpoints[organisation_id]:
            delivery = WebhookDelivery(
                endpoint_id=endpoint_id,
                event_type=EventType.DOSSIER_STATUS_CHANGED,
                next_attempt_at=now,
                created_at=now,
            )
            delivery.payload = {
                "id": str(delivery.event_id),
                "type": EventType.DOSSIER_STATUS_CHANGED.value,
                "created_at": now.isoformat(),
                "data": {
                    "object": "dossier",
                    "reference": references[dossier_id],
                    "previous_status": from_state,
                    "status": to_state,
                    "status_label": str(labels.get(to_state, to_state)),
                },
            }
            deliveries.append(delivery)
    created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    task_enqueue(DELIVER_TASK, [delivery.pk for delivery in created])
    return len(created)


def batch_deliveries_record(*, organisation_id: int, data: dict, now: datetime) -> int:
    """Write, in the caller's transaction, one "batch.status_changed" delivery per active endpoint
    of the organisation (the batch's data in the same envelope as a dossier's); enqueue their sending
    after commit."""
    endpoint_ids = list(
        WebhookEndpoint.objects.filter(organisation_id=organisation_id, active=True).values_list(
            "pk", flat=True
        )
    )
    deliveries = []
    for endpoint_id in endpoint_ids:
        delivery = WebhookDelivery(
            endpoint_id=endpoint_id,
            event_type=EventType.BATCH_STATUS_CHANGED,
            next_attempt_at=now,
            created_at=now,
        )
        delivery.payload = {
            "id": str(delivery.event_id),
            "type": EventType.BATCH_STATUS_CHANGED.value,
            "created_at": now.isoformat(),
            "data": data,
        }
        deliveries.append(delivery)
    created = WebhookDelivery.objects.bulk_create(deliveries)
    if created:
        task_enqueue(DELIVER_TASK, [delivery.pk for delivery in created])
    return len(created)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `host` (certificate and SNI) on the address already checked, not a new lookup."""

    def __init__(self, host: str, port: int, *, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP, only when WEBHOOKS_ALLOW_LOOPBACK (tests), on the address already checked."""

    def __init__(self, host: str, port: int, *, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


def _post(*, url: str, secret: str, body: bytes, event_id: str) -> int:
    """POST `body` signed to `url` (address re-checked, redirects not followed); the status code.
    Raises ValidationError (refused address) or OSError / HTTPException (network)."""
    scheme, host, port, ip = url_resolve(url)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, ip=ip, timeout=TIMEOUT_SECONDS)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timestamp = str(int(timezone.now().timestamp()))
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "portail-immatriculation-webhooks/1",
                "X-Webhook-Id": event_id,
                "X-Webhook-Timestamp": timestamp,
                "X-Webhook-Signature": signature_of(secret=secret, timestamp=timestamp, body=body),
            },
        )
        response = connection.getresponse()
        response.read(65536)
        return response.status
    finally:
        connection.close()


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: doubling from BACKOFF_FIRST, capped."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def delivery_attempt(*, delivery_id: int) -> str | None:
    """Try to send a due pending delivery once; its state after the attempt, or None when it was
    not due (already sent, failed, or held by another run). Safe to run twice: the delivery is
    claimed by a conditional update that only one run wins."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE, last_attempt_at=now)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    status, error = None, ""
    if not endpoint.active:
        error = "endpoint deactivated"
    else:
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            status = _post(
                url=endpoint.url, secret=endpoint.secret, body=body, event_id=str(delivery.event_id)
            )
        except ValidationError as refused:
            error = "; ".join(refused.messages)
        except (OSError, http.client.HTTPException) as failure:
            error = f"{type(failure).__name__}: {failure}"
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
    done = timezone.now()
    held = WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING)
    if not error:
        held.update(state=DeliveryState.DELIVERED, delivered_at=done, last_status_code=status, last_error="")
        return DeliveryState.DELIVERED
    next_at = done + backoff(delivery.attempts)
    gives_up = not endpoint.active or next_at > delivery.created_at + GIVE_UP_AFTER
    held.update(
        state=DeliveryState.FAILED if gives_up else DeliveryState.PENDING,
        next_attempt_at=next_at,
        last_status_code=status,
        last_error=error[:500],
    )
    return DeliveryState.FAILED if gives_up else DeliveryState.PENDING


def deliveries_retry_due() -> int:
    """Enqueue the sending of every pending delivery that is due (retries, and sends lost with a
    crashed worker), by chunks; the count."""
    due = list(
        WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:5000]
    )
    for start in range(0, len(due), RETRY_CHUNK):
        task_enqueue(DELIVER_TASK, due[start : start + RETRY_CHUNK], on_commit=False)
    return len(due)


def deliveries_send(*, delivery_ids: list[int]) -> None:
    """Attempt each of `delivery_ids` once, outside any transaction (a slow endpoint holds no lock)."""
    for delivery_id in delivery_ids:
        delivery_attempt(delivery_id=delivery_id)
