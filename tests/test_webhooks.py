"""Webhooks: an organisation's endpoints receive its dossiers' status changes, signed, retried
with backoff for 24 hours, never sent to a private address."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cert_workflow.checks import services as checks_services
from dossiers import services as dossier_services
from dossiers import transitions
from dossiers.models import Dossier, DossierEvent, State
from tests import factories
from tests.celery_worker import wait_until
from webhooks import services
from webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


class _Receiver:
    """A real HTTP server on 127.0.0.1 that records what it receives and answers `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict, bytes, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body, self.path))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cg?source=portail"
        # shutdown() waits for the loop's next poll: every 50 ms instead of the default 500 ms.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    server = _Receiver()
    yield server
    server.close()


def _due(delivery: WebhookDelivery) -> None:
    """Bring the next attempt forward to now (what waiting for the backoff would do)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def _endpoint(dealer, url: str) -> tuple[WebhookEndpoint, str]:
    return services.endpoint_create(organisation=dealer.organisation, url=url, created_by=dealer)


def test_a_status_change_writes_its_delivery_in_the_same_transaction(receiver):
    dealer = factories.dealer()
    endpoint, _ = _endpoint(dealer, receiver.url)
    dossier = factories.draft(filed_by=dealer)
    assert WebhookDelivery.objects.count() == 0

    with pytest.raises(RuntimeError), transaction.atomic():
        dossier_services.dossier_withdraw(dossier=dossier, actor=dealer)
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the caller fails after the change")
    dossier.refresh_from_db()
    assert dossier.state == State.DRAFT
    assert WebhookDelivery.objects.count() == 0

    dossier_services.dossier_withdraw(dossier=dossier, actor=dealer)
    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == endpoint and delivery.state == DeliveryState.PENDING
    assert delivery.payload["type"] == "dossier.status_changed"
    assert delivery.payload["id"] == str(delivery.event_id)
    assert delivery.payload["data"] == {
        "object": "dossier",
        "reference": dossier.reference,
        "previous_status": State.DRAFT,
        "status": State.WITHDRAWN,
        "status_label": str(State.WITHDRAWN.label),
    }


def test_a_set_of_changes_writes_its_deliveries_in_one_insert(receiver):
    dealer = factories.dealer()
    _endpoint(dealer, receiver.url)
    _endpoint(dealer, receiver.url.replace("/hooks/cg", "/autre"))

    def withdraw(n: int) -> int:
        ids = [factories.draft(filed_by=dealer, paid=False).pk for _ in range(n)]
        with CaptureQueriesContext(connection) as queries:
            moved = transitions.dossier_transition_many(dossier_ids=ids, to=State.WITHDRAWN, actor=None)
        assert sorted(moved) == sorted(ids)
        return len(queries)

    few, more = withdraw(2), withdraw(5)
    assert few == more  # as many queries for 5 dossiers as for 2
    assert WebhookDelivery.objects.count() == 2 * (2 + 5)  # one per dossier and endpoint


def test_delivery_reaches_a_real_server_with_a_signature_made_with_the_secret(receiver):
    dealer = factories.dealer()
    _, secret = _endpoint(dealer, receiver.url)
    dossier = factories.draft(filed_by=dealer)
    dossier_services.dossier_withdraw(dossier=dossier, actor=dealer)
    delivery = WebhookDelivery.objects.get()

    services.deliveries_send(delivery_ids=[delivery.pk])

    [(headers, body, path)] = receiver.received
    assert path == "/hooks/cg?source=portail"
    timestamp = headers["X-Webhook-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Webhook-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["data"]["reference"] == dossier.reference
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None

    # Sent once: a second run (a redelivered task) finds nothing to do.
    services.deliveries_send(delivery_ids=[delivery.pk])
    assert len(receiver.received) == 1


def test_a_failing_endpoint_is_retried_with_growing_waits_until_it_recovers(receiver):
    dealer = factories.dealer()
    _endpoint(dealer, receiver.url)
    dossier_services.dossier_withdraw(dossier=factories.draft(filed_by=dealer), actor=dealer)
    delivery = WebhookDelivery.objects.get()
    receiver.status = 500

    waits = []
    for _ in range(3):
        assert services.delivery_attempt(delivery_id=delivery.pk) == DeliveryState.PENDING
        delivery.refresh_from_db()
        assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500"
        waits.append(delivery.next_attempt_at - delivery.last_attempt_at)
        # Not due yet: the periodic retry and a duplicate task leave it alone.
        assert services.delivery_attempt(delivery_id=delivery.pk) is None
        _due(delivery)
    assert waits[0] < waits[1] < waits[2]
    assert len(receiver.received) == 3

    receiver.status = 204
    assert services.deliveries_retry_due() == 1  # enqueued by the periodic task (eager or worker)
    services.deliveries_send(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 4
    assert delivery.last_status_code == 204 and len(receiver.received) == 4


def test_a_delivery_still_failing_after_24_hours_is_failed(receiver):
    dealer = factories.dealer()
    _endpoint(dealer, receiver.url)
    dossier_services.dossier_withdraw(dossier=factories.draft(filed_by=dealer), actor=dealer)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(hours=24))
    receiver.status = 503

    assert services.delivery_attempt(delivery_id=delivery.pk) == DeliveryState.FAILED
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED and delivery.last_status_code == 503
    _due(delivery)
    assert services.delivery_attempt(delivery_id=delivery.pk) is None
    assert services.deliveries_retry_due() == 0
    assert len(receiver.received) == 1


def test_the_address_is_checked_again_at_delivery_time(receiver, settings):
    dealer = factories.dealer()
    _endpoint(dealer, receiver.url)
    dossier_services.dossier_withdraw(dossier=factories.draft(filed_by=dealer), actor=dealer)
    delivery = WebhookDelivery.objects.get()
    settings.WEBHOOKS_ALLOW_LOOPBACK = False  # as if the name now resolved to a private address

    assert services.delivery_attempt(delivery_id=delivery.pk) == DeliveryState.PENDING
    delivery.refresh_from_db()
    assert "https://" in delivery.last_error and delivery.last_status_code is None
    assert receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "http://93.184.215.14/hook",
    ],
)
def test_private_loopback_link_local_and_plain_http_addresses_are_refused(client, url):
    dealer = factories.dealer()
    with pytest.raises(ValidationError) as refused:
        _endpoint(dealer, url)
    assert "url" in refused.value.message_dict

    client.force_login(dealer)
    response = client.post(reverse("webhook-endpoints"), {"url": url})
    assert response.status_code == 200
    page = response.content.decode()
    assert "error-summary" in page and "fr-error-text" in page
    assert ("https://" in page and "commencer par" in page) or "adresse publique" in page
    assert not WebhookEndpoint.objects.exists()


def test_a_dealer_adds_an_endpoint_sees_its_secret_once_and_deactivates_it(client, receiver):
    dealer = factories.dealer()
    client.force_login(dealer)
    response = client.post(reverse("webhook-endpoints"), {"url": receiver.url})
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.organisation == dealer.organisation and endpoint.created_by == dealer
    assert endpoint.secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    page = client.get(reverse("webhook-endpoints")).content.decode()
    assert receiver.url.replace("&", "&amp;") in page or receiver.url in page
    assert endpoint.secret not in page

    dossier_services.dossier_withdraw(dossier=factories.draft(filed_by=dealer), actor=dealer)
    services.deliveries_send(delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True)))
    page = client.get(reverse("webhook-endpoints")).content.decode()
    assert "Journal des envois" in page and "Remis" in page and "HTTP 200" in page

    response = client.post(reverse("webhook-endpoint-deactivate", args=[endpoint.pk]))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.deactivated_at is not None
    dossier_services.dossier_withdraw(dossier=factories.draft(filed_by=dealer), actor=dealer)
    assert WebhookDelivery.objects.count() == 1  # none for an inactive endpoint


def test_another_organisations_endpoint_is_a_404_and_unchanged(client, receiver):
    owner = factories.dealer()
    endpoint, secret = _endpoint(owner, receiver.url)
    other = factories.dealer()
    client.force_login(other)

    response = client.post(reverse("webhook-endpoint-deactivate", args=[endpoint.pk]))
    assert response.status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.active
    page = client.get(reverse("webhook-endpoints")).content.decode()
    assert receiver.url not in page and secret not in page


def test_the_page_is_for_dealers_only(client):
    client.force_login(factories.citizen())
    assert client.get(reverse("webhook-endpoints")).status_code == 404


def test_citizen_dossiers_write_no_delivery_and_no_webhook_query(receiver):
    dealer = factories.dealer()
    _endpoint(dealer, receiver.url)
    citizen = factories.citizen()
    dossier = factories.draft(filed_by=citizen)
    events = DossierEvent.objects.count()

    with CaptureQueriesContext(connection) as queries:
        dossier_services.dossier_withdraw(dossier=dossier, actor=citizen)
    assert Dossier.objects.get(pk=dossier.pk).state == State.WITHDRAWN
    assert DossierEvent.objects.count() == events + 1
    assert not any("webhooks_" in query["sql"] for query in queries.captured_queries)
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_delivery_after_the_commit(start_celery_worker, receiver):
    start_celery_worker(env={"WEBHOOKS_ALLOW_LOOPBACK": "1"}, warm_up=False)
    dealer = factories.dealer()
    _, secret = _endpoint(dealer, receiver.url)
    dossier = factories.draft(filed_by=dealer)

    dossier_services.dossier_withdraw(dossier=dossier, actor=dealer)

    delivered = wait_until(
        lambda: WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).first(), timeout=30
    )
    [(headers, body, _)] = receiver.received
    assert json.loads(body)["id"] == str(delivered.event_id)
    signed = f"{headers['X-Webhook-Timestamp']}.".encode() + body
    assert (
        headers["X-Webhook-Signature"]
        == "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    )


@pytest.mark.parametrize("database", ["any", "postgresql"])
def test_an_agents_claim_of_a_dealers_dossier_is_delivered(receiver, database, request):
    """The claim (queued → in review) is written by one statement on PostgreSQL and through the ORM
    elsewhere: both report it to the dealer's webhooks; a citizen's dossier writes nothing."""
    if database == "postgresql":
        request.getfixturevalue("postgres")
    from cert_workflow.review.claim import queue_claim_next

    dealer = factories.dealer()
    endpoint, _ = _endpoint(dealer, receiver.url)
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = factories.draft(filed_by=dealer)
    dossier = dossier_services.dossier_submit(dossier=dossier, actor=dealer)
    transitions.dossier_transition(dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert})
    # Queued directly: its checks, as the sweep runs them (the claim takes checked dossiers).
    checks_services.checks_run_queued(dossier_ids=[dossier.pk])
    before = WebhookDelivery.objects.filter(endpoint=endpoint).count()

    claimed = queue_claim_next(agent=agent)
    assert claimed.pk == dossier.pk
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk").last()
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == before + 1
    assert (delivery.payload["data"]["previous_status"], delivery.payload["data"]["status"]) == (
        "queued",
        "in_review",
    )
    # Claimed again (a double click): the agent resumes the same dossier, nothing new is sent.
    assert queue_claim_next(agent=agent).pk == dossier.pk
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == before + 1
