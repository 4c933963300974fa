"""Paying a dossier's fees through the payment provider interface and its fake provider."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import checks
from django.urls import reverse
from django.utils import timezone

from dossiers import services
from dossiers.models import Dossier, DossierEvent, Payment, Procedure, State
from payments import services as payments
from payments.models import PaymentAttempt
from payments.providers import FakeProvider, Outcome
from portal.celery import app
from tests import factories

pytestmark = pytest.mark.django_db


def ledger() -> dict:
    """What a refused notification or submission must leave as it was."""
    return {
        "payments": list(Payment.objects.order_by("pk").values()),
        "events": DossierEvent.objects.count(),
        "dossiers": list(Dossier.objects.order_by("pk").values("pk", "state", "y6", "updated_at")),
    }


def unpaid_draft(owner=None, **kwargs) -> Dossier:
    return factories.draft(filed_by=owner or factories.citizen(), paid=False, **kwargs)


def logged_in(client, user):
    client.force_login(user)
    return client


def pay_on_fake_page(client, attempt: PaymentAttempt, action: str):
    """The payer presses a button on the fake bank's page, then follows the way back."""
    response = client.post(reverse("fake-provider-page", args=[attempt.session_id]), {"action": action})
    assert response.status_code == 302
    return response["Location"]


# --- Success, refusal, abandonment --------------------------------------------------------------


def test_paying_on_the_fake_page_records_the_fees_once_and_the_submit_is_accepted(client):
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    logged_in(client, owner)
    page = client.get(reverse("payment-start", args=[dossier.reference]))
    assert page.status_code == 200
    # The euro sign is kept on its amount's line (a no-break space); the thousands separators dropped.
    text = factories.text_of(page).replace("\xa0€", " €").replace("\xa0", "").replace("\u202f", "")
    for label in ("Taxe régionale", "Taxe fixe", "Redevance d'acheminement", "Montant total"):
        assert label in text
    owed = services.dossier_fees(dossier=dossier).y6
    assert f"Montant à payer : {owed:.2f} €".replace(".", ",") in text

    started = client.post(reverse("payment-start", args=[dossier.reference]), {"next": "/mon-espace/"})
    attempt = PaymentAttempt.objects.get(dossier=dossier)
    assert started["Location"] == reverse("fake-provider-page", args=[attempt.session_id])
    bank = client.get(started["Location"])
    assert "Payer" in factories.text_of(bank) and "Refuser le paiement" in factories.text_of(bank)

    back = pay_on_fake_page(client, attempt, "pay")
    # The fake bank delivered the notification in-process, and the return carries it again.
    landed = client.get(back, follow=True)

    assert landed.redirect_chain[-1][0] == "/mon-espace/"
    assert "Paiement accepté" in factories.text_of(landed)
    assert list(Payment.objects.filter(dossier=dossier).values_list("amount", flat=True)) == [owed]
    assert DossierEvent.objects.filter(dossier=dossier, action="payment_recorded").count() == 1
    attempt.refresh_from_db()
    assert attempt.status == PaymentAttempt.Status.SUCCEEDED

    submitted = services.dossier_submit(dossier=dossier, actor=owner)
    assert submitted.state == State.SUBMITTED and submitted.y6 == owed


@pytest.mark.parametrize(
    ("action", "status", "message"),
    [("refuse", "refused", "Paiement refusé"), ("abandon", "abandoned", "Paiement abandonné")],
)
def test_refused_or_abandoned_payment_records_nothing_and_says_so(client, action, status, message):
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    logged_in(client, owner)
    client.post(reverse("payment-start", args=[dossier.reference]))
    attempt = PaymentAttempt.objects.get(dossier=dossier)
    before = ledger()

    landed = client.get(pay_on_fake_page(client, attempt, action), follow=True)

    assert message in factories.text_of(landed)
    assert landed.redirect_chain[-1][0] == reverse("payment-start", args=[dossier.reference])
    attempt.refresh_from_db()
    assert attempt.status == status
    assert ledger() == before
    with pytest.raises(services.InvalidInput) as refused:
        services.dossier_submit(dossier=dossier, actor=owner)
    assert [(e.field, e.rule) for e in refused.value.errors] == [("payment", "unpaid")]


def test_a_new_attempt_supersedes_the_one_in_progress_and_the_sweep_abandons_forgotten_ones():
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    first = payments.payment_start(dossier=dossier, actor=owner)
    second = payments.payment_start(dossier=dossier, actor=owner)
    first.refresh_from_db()
    assert (first.status, second.status) == ("abandoned", "started")

    other = payments.payment_start(dossier=unpaid_draft(owner), actor=owner)
    assert payments.payment_attempts_expire(now=timezone.now() + timedelta(minutes=30)) == 0
    assert payments.payment_attempts_expire(now=timezone.now() + timedelta(hours=2)) == 2
    assert set(
        PaymentAttempt.objects.filter(pk__in=[second.pk, other.pk]).values_list("status", flat=True)
    ) == {"abandoned"}


def test_a_late_success_of_an_abandoned_attempt_is_still_recorded_money_was_taken():
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    attempt = payments.payment_start(dossier=dossier, actor=owner)
    payments.payment_attempts_expire(now=timezone.now() + timedelta(days=1))

    payments.fake_payment_settle(attempt=attempt, outcome=Outcome.SUCCEEDED)

    attempt.refresh_from_db()
    assert attempt.status == "succeeded"
    assert Payment.objects.filter(dossier=dossier).count() == 1


# --- Notifications: twice, forged, wrong -------------------------------------------------------


def test_a_notification_received_twice_records_one_payment(client):
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    attempt = payments.payment_start(dossier=dossier, actor=owner)
    payload = payments.fake_payment_settle(attempt=attempt, outcome=Outcome.SUCCEEDED)
    before = ledger()

    again = client.post(reverse("payment-notification", args=["fake"]), payload)
    back = client.get(reverse("payment-return"), payload)

    assert again.status_code == 200 and again.json()["status"] == "succeeded"
    assert back.status_code == 302
    assert ledger() == before
    assert Payment.objects.filter(dossier=dossier).count() == 1


def test_a_session_settled_twice_on_the_bank_page_records_one_payment():
    """Two clicks on « Payer » (two settlements of one session, each with its own reference): the
    session is paid once."""
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    attempt = payments.payment_start(dossier=dossier, actor=owner)
    payments.fake_payment_settle(attempt=attempt, outcome=Outcome.SUCCEEDED)
    before = ledger()

    payments.fake_payment_settle(attempt=attempt, outcome=Outcome.SUCCEEDED)

    assert ledger() == before
    assert Payment.objects.filter(dossier=dossier).count() == 1


def _signed(**changes) -> dict:
    """A notification for the attempt, altered by `changes`, then signed with the fake's key."""
    payload = dict(changes)
    payload["signature"] = FakeProvider().notification_sign(payload=payload)
    return payload


@pytest.mark.parametrize("case", ["forged", "unsigned", "other_dossier", "other_amount", "unknown_session"])
def test_a_bad_notification_records_nothing(client, case):
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    other = unpaid_draft(owner)
    attempt = payments.payment_start(dossier=dossier, actor=owner)
    good = {
        "session_id": attempt.session_id,
        "reference": dossier.reference,
        "outcome": "succeeded",
        "amount": str(attempt.amount),
        "provider_reference": "fake-pay-forged",
    }
    payload, rule = {
        "forged": ({**good, "signature": "0" * 64}, "signature_invalid"),
        "unsigned": (good, "signature_invalid"),
        "other_dossier": (_signed(**{**good, "reference": other.reference}), "session_other_dossier"),
        "other_amount": (_signed(**{**good, "amount": "1.00"}), "amount_mismatch"),
        "unknown_session": (_signed(**{**good, "session_id": "fake_nope"}), "session_unknown"),
    }[case]
    before = ledger()

    response = client.post(reverse("payment-notification", args=["fake"]), payload)
    back = client.get(reverse("payment-return"), payload)

    assert response.status_code == 400
    assert [error["rule"] for error in response.json()["errors"]] == [rule]
    assert back.status_code == 400
    assert ledger() == before
    attempt.refresh_from_db()
    assert attempt.status == "started"


def test_a_notification_signed_with_another_key_is_refused(settings, client):
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    attempt = payments.payment_start(dossier=dossier, actor=owner)
    settings.PAYMENT_FAKE_SECRET = "a-key-an-attacker-chose"
    payload = FakeProvider().notification_build(
        session_id=attempt.session_id,
        reference=dossier.reference,
        outcome=Outcome.SUCCEEDED,
        amount=attempt.amount,
    )
    settings.PAYMENT_FAKE_SECRET = ""
    before = ledger()

    assert client.post(reverse("payment-notification", args=["fake"]), payload).status_code == 400
    assert ledger() == before


# --- Submission and what an applicant may send --------------------------------------------------


def test_unpaid_submit_is_refused_with_the_amount_due_and_changes_nothing():
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    owed = services.dossier_fees(dossier=dossier).y6
    before = factories.snapshot(dossier)

    response = factories.api_client(owner).post(f"/api/v1/dossiers/{dossier.reference}/submit/")

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("payment", "unpaid")
    assert f"{owed:.2f}".replace(".", ",") in error["message"]
    assert factories.snapshot(dossier) == before


def test_partly_paid_dossier_is_refused_until_the_rest_is_paid():
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    owed = services.dossier_fees(dossier=dossier).y6
    services.payment_record(
        dossier=dossier, amount=Decimal("10.00"), provider="fake", provider_reference="P-1"
    )

    with pytest.raises(services.InvalidInput):
        services.dossier_submit(dossier=dossier, actor=owner)
    attempt = payments.payment_start(dossier=dossier, actor=owner)
    assert attempt.amount == owed - Decimal("10.00")
    payments.fake_payment_settle(attempt=attempt, outcome=Outcome.SUCCEEDED)

    assert services.dossier_submit(dossier=dossier, actor=owner).state == State.SUBMITTED


def test_free_procedures_and_tax_collecting_dealers_submit_without_payment():
    owner = factories.citizen()
    change = unpaid_draft(owner, procedure=Procedure.CHANGE_OF_ADDRESS)
    assert services.dossier_submit(dossier=change, actor=owner).state == State.SUBMITTED
    dealer = factories.dealer()  # its organisation holds the tax agrément (factories)
    new_car = factories.draft(filed_by=dealer, paid=False)
    # The dossier API and the payments API say the same: nothing is due through the portal.
    api = factories.api_client(dealer)
    assert api.get(f"/api/v1/dossiers/{new_car.reference}/").json()["payment"]["status"] == "not_due"
    assert api.get(f"/api/v1/dossiers/{new_car.reference}/payments/").json()["status"] == "not_due"
    assert services.dossier_submit(dossier=new_car, actor=dealer).state == State.SUBMITTED
    assert not Payment.objects.exists()


def test_a_free_dossier_says_it_owes_nothing_and_cannot_start_a_payment(client):
    owner = factories.citizen()
    dossier = unpaid_draft(owner, procedure=Procedure.CHANGE_OF_ADDRESS)
    logged_in(client, owner)

    page = factories.text_of(client.get(reverse("payment-start", args=[dossier.reference])))
    refused = client.post(reverse("payment-start", args=[dossier.reference]))

    assert "Cette démarche est gratuite : aucune taxe à payer." in page
    assert "0,00" not in page and "Taxe régionale" not in page
    assert refused.status_code == 400 and "rien à payer" in factories.text_of(refused)
    assert not PaymentAttempt.objects.exists()


def test_only_a_draft_is_paid():
    owner = factories.citizen()
    dossier = factories.submitted(owner=owner, procedure=Procedure.DUPLICATE)  # paid, then submitted
    before = (PaymentAttempt.objects.count(), ledger())
    response = factories.api_client(owner).post(f"/api/v1/dossiers/{dossier.reference}/payments/")
    assert response.status_code == 400
    assert factories.errors_of(response) == {"state": "not_draft"}
    assert (PaymentAttempt.objects.count(), ledger()) == before


def test_the_dossier_api_refuses_payment_fields_as_unknown():
    owner = factories.citizen()
    body = {
        "procedure": Procedure.FIRST_REGISTRATION,
        "vehicle": factories.vehicle_data(),
        "holder": factories.holder_data(),
        "paid": True,
        "paid_amount": "999.00",
        "payment": {"status": "paid"},
    }
    before = ledger()

    response = factories.dossier_post(owner, body)

    assert response.status_code == 400
    assert factories.errors_of(response) == {
        "paid": "unknown_field",
        "paid_amount": "unknown_field",
        "payment": "unknown_field",
    }
    assert ledger() == before


def test_posting_to_the_payments_endpoint_starts_an_attempt_but_marks_nothing_paid():
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    client = factories.api_client(owner)

    started = client.post(
        f"/api/v1/dossiers/{dossier.reference}/payments/", {"paid": True, "amount": "1.00"}, format="json"
    )

    assert started.status_code == 201
    body = started.json()
    assert body["status"] == "started" and body["redirect_url"].startswith("/paiement-simule/")
    assert Decimal(body["amount"]) == services.dossier_fees(dossier=dossier).y6
    listed = client.get(f"/api/v1/dossiers/{dossier.reference}/payments/").json()
    assert listed["status"] == "unpaid" and listed["paid"] == "0.00"
    assert [attempt["id"] for attempt in listed["attempts"]] == [body["id"]]
    assert not Payment.objects.exists()

    payments.fake_payment_settle(attempt=PaymentAttempt.objects.get(pk=body["id"]), outcome=Outcome.SUCCEEDED)
    paid = client.get(f"/api/v1/dossiers/{dossier.reference}/payments/").json()
    assert (paid["status"], paid["due"]) == ("paid", "0.00")
    assert client.get(f"/api/v1/dossiers/{dossier.reference}/").json()["payment"]["status"] == "paid"


# --- Scope ---------------------------------------------------------------------------------------


def test_another_users_dossier_is_404_on_the_page_and_the_api(client):
    dossier = unpaid_draft()
    stranger = factories.citizen()
    agent = factories.agent()
    logged_in(client, stranger)
    before = ledger()

    assert client.get(reverse("payment-start", args=[dossier.reference])).status_code == 404
    assert client.post(reverse("payment-start", args=[dossier.reference])).status_code == 404
    for user in (stranger, agent, factories.dealer()):
        api = factories.api_client(user)
        assert api.get(f"/api/v1/dossiers/{dossier.reference}/payments/").status_code == 404
        assert api.post(f"/api/v1/dossiers/{dossier.reference}/payments/").status_code == 404
    assert not PaymentAttempt.objects.exists()
    assert ledger() == before


def test_the_return_goes_only_to_a_local_next(client):
    owner = factories.citizen()
    dossier = unpaid_draft(owner)
    logged_in(client, owner)
    client.post(reverse("payment-start", args=[dossier.reference]), {"next": "https://evil.example/"})
    attempt = PaymentAttempt.objects.get(dossier=dossier)
    assert attempt.return_url == ""
    back = client.get(pay_on_fake_page(client, attempt, "abandon"))
    assert back["Location"] == reverse("payment-start", args=[dossier.reference])


def test_the_fake_pages_notification_carries_a_signature_and_a_provider_reference():
    owner = factories.citizen()
    attempt = payments.payment_start(dossier=unpaid_draft(owner), actor=owner)
    payload = payments.fake_payment_settle(attempt=attempt, outcome=Outcome.SUCCEEDED)
    assert len(payload["signature"]) == 64 and payload["provider_reference"].startswith("fake-pay-")


# --- Settings ------------------------------------------------------------------------------------


def test_deploy_check_warns_about_the_fake_provider_without_debug(settings):
    settings.DEBUG = False
    ids = [message.id for message in checks.run_checks(include_deployment_checks=True)]
    assert "payments.W001" in ids
    settings.DEBUG = True
    ids = [message.id for message in checks.run_checks(include_deployment_checks=True)]
    assert "payments.W001" not in ids


def test_an_unknown_provider_is_a_system_check_error(settings):
    settings.PAYMENT_PROVIDER = "banque-imaginaire"
    assert "payments.E001" in [message.id for message in checks.run_checks()]


def test_the_sweep_of_forgotten_attempts_is_a_scheduled_task(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["expire-payment-attempts"]
    app.loader.import_default_modules()
    assert schedule["task"] in app.tasks
