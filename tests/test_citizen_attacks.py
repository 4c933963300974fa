"""The citizen space attacked as a malicious second user and a sloppy client would (issue 13):
each refusal is a 404 or a clear 4xx, never a 500, and leaves nothing changed."""

import re
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dossiers.models import Document, Dossier, DossierEvent, Payment, Procedure, State
from filing.models import FilingDraft
from payments import services as payment_services
from payments.models import PaymentAttempt
from portal import accounts
from portal.models import User
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


def signed_in(user=None, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user or factories.citizen())
    return client


def ledger() -> dict:
    return {
        "payments": list(Payment.objects.order_by("pk").values()),
        "attempts": list(PaymentAttempt.objects.order_by("pk").values()),
        "documents": list(Document.objects.order_by("pk").values_list("pk", flat=True)),
        "events": DossierEvent.objects.count(),
        "dossiers": list(Dossier.objects.order_by("pk").values("pk", "state", "updated_at")),
        "drafts": list(FilingDraft.objects.order_by("pk").values("pk", "step", "data", "dossier_id")),
    }


def files_in(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


# --- Malformed input: a clear 4xx, never a 500 -----------------------------------------------------


@pytest.mark.parametrize("reference", ["CG-2026-\x00", "x" * 5000, "é€😀", "CG-2026-000001'--"])
def test_a_malformed_reference_is_a_404_on_every_citizen_url(reference):
    client = signed_in()
    before = ledger()
    quoted = quote(reference, safe="")
    for method, url in (
        ("post", f"/demarches/dossier/{quoted}/reprendre/"),
        ("get", f"/mon-espace/dossiers/{quoted}/"),
        ("post", f"/mon-espace/dossiers/{quoted}/abandonner/"),
        ("post", f"/mon-espace/dossiers/{quoted}/complement/"),
        ("get", f"/mon-espace/dossiers/{quoted}/paiement/"),
        ("post", f"/mon-espace/dossiers/{quoted}/paiement/"),
        ("get", f"/mon-espace/dossiers/{quoted}/declaration-de-cession.pdf"),
        ("get", f"/api/v1/dossiers/{quoted}/tracking/"),
        ("post", f"/api/v1/dossiers/{quoted}/payments/"),
    ):
        response = getattr(client, method)(url)
        assert response.status_code in (401, 404), (url, response.status_code)
    assert ledger() == before


def test_a_nul_byte_in_the_adopt_url_is_a_404():
    client = signed_in()
    response = client.post("/demarches/dossier/CG-2026-%00/reprendre/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"fiscal_power": "\x00", "energy": "ES", "genre": "VP", "department": "75"},
        {"fiscal_power": "5", "energy": "ES\x00", "genre": "VP", "department": "75"},
        {"fiscal_power": "5", "energy": "ES", "genre": "VP", "department": "75", "on": "2026-01-01\x00"},
        {"fiscal_power": "5" * 5000, "energy": "ES", "genre": "VP", "department": "75"},
        {"fiscal_power": "5", "energy": "ES", "genre": "VP", "department": "😀"},
        {"fiscal_power": "5", "energy": "ES", "genre": "VP", "department": "75", "\x00": "1"},
        {"fiscal_power": "5", "energy": "ES", "genre": "VP", "department": "75", "vehicle_age_years": "nan"},
        {
            "fiscal_power": "5",
            "energy": "ES",
            "genre": "VP",
            "department": "75",
            "vehicle_age_years": "1e400",
        },
        {"fiscal_power": "5", "energy": "ES", "genre": "VP", "department": "75", "on": "9999-12-31"},
        {"fiscal_power": "5", "energy": "ES", "genre": "VP", "department": "75", "on": "0001-01-01"},
    ],
)
def test_the_fees_quote_answers_bad_parameters_with_a_400(params):
    response = factories.api_client().get("/api/v1/fees/quote/", params)
    assert response.status_code == 400, response.content
    assert response.json()["errors"]


# --- Form fields with NUL bytes --------------------------------------------------------------------


def test_a_nul_byte_in_a_filing_step_is_refused_not_stored():
    user = factories.citizen()
    client = signed_in(user)
    client.post(reverse("filing-procedure", args=["duplicate"]))
    draft = FilingDraft.objects.get(user=user)
    title = factories.registered()
    holder = factories.holder_data()
    response = client.post(
        reverse("filing-step", args=[draft.pk, "vehicle"]),
        {**factories.proof(title), "last_name": "Du\x00pont", "birth_date": holder["birth_date"]},
    )
    assert response.status_code in (200, 400)
    draft.refresh_from_db()
    assert "\x00" not in str(draft.data)


def test_signup_with_nul_bytes_is_refused():
    response = Client().post(
        reverse("signup"),
        {
            "email": "a\x00@example.fr",
            "first_name": "A\x00",
            "last_name": "B",
            "password1": "x\x00Correct-horse-9",
            "password2": "x\x00Correct-horse-9",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(email__startswith="a").exists()


def test_login_with_nul_bytes_is_refused():
    response = Client().post(reverse("login"), {"username": "a\x00@x.fr", "password": "x\x00"})
    assert response.status_code in (200, 400)


# --- FranceConnect must not hand a pre-registered account to whoever registered it ----------------


def test_franceconnect_linking_an_unconfirmed_account_drops_the_password_its_creator_chose():
    # Someone signs up with another person's address and a password of their choosing; the address
    # is never confirmed. The owner then logs in with FranceConnect: the account becomes theirs,
    # so the stranger's password must not open it any more.
    squatter = accounts.account_signup(
        email="angela.dubois@example.fr", password="Squatter-pass-42", first_name="X", last_name="Y"
    )
    assert squatter.email_confirmed_at is None
    user = accounts.citizen_from_franceconnect(
        claims={"sub": "fc-1", "email": "angela.dubois@example.fr", "given_name": "Angela"}
    )
    assert user.pk == squatter.pk
    user.refresh_from_db()
    assert not user.check_password("Squatter-pass-42")
    client = Client()
    client.post(reverse("login"), {"username": "angela.dubois@example.fr", "password": "Squatter-pass-42"})
    assert "_auth_user_id" not in client.session


def test_a_confirmed_citizen_linked_by_franceconnect_keeps_their_password():
    citizen = factories.citizen(email="angela.dubois@example.fr")
    citizen.set_password("Own-pass-4242")
    citizen.save(update_fields=["password"])
    accounts.citizen_from_franceconnect(claims={"sub": "fc-1", "email": "angela.dubois@example.fr"})
    citizen.refresh_from_db()
    assert citizen.check_password("Own-pass-4242")


# --- Payments -----------------------------------------------------------------------------------


def test_a_payment_return_replayed_by_someone_else_records_nothing_more_and_goes_to_no_foreign_url():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    attempt = payment_services.payment_start(dossier=dossier, actor=owner, return_url="/mon-espace/")
    payload = payment_services.fake_payment_settle(attempt=attempt, outcome="succeeded")
    before = ledger()
    stranger = signed_in()
    response = stranger.get(reverse("payment-return"), payload)
    assert response.status_code == 302
    assert ledger()["payments"] == before["payments"]


def test_the_fake_page_of_a_settled_attempt_cannot_pay_again():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    attempt = payment_services.payment_start(dossier=dossier, actor=owner)
    client = signed_in(owner)
    client.post(reverse("fake-provider-page", args=[attempt.session_id]), {"action": "pay"})
    before = ledger()
    response = client.post(reverse("fake-provider-page", args=[attempt.session_id]), {"action": "pay"})
    assert response.status_code == 200
    assert ledger() == before


def test_starting_a_payment_twice_leaves_one_attempt_in_progress():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    client = signed_in(owner)
    client.post(reverse("payment-start", args=[dossier.reference]))
    client.post(reverse("payment-start", args=[dossier.reference]))
    assert PaymentAttempt.objects.filter(dossier=dossier, status="started").count() == 1


@pytest.mark.parametrize("field", ["paid", "y6", "amount", "payments", "state"])
def test_no_api_field_marks_a_dossier_paid(field):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    before = ledger()
    client = factories.api_client(owner)
    client.post(f"/api/v1/dossiers/{dossier.reference}/payments/", {field: "0"}, format="json")
    after = ledger()
    assert after["payments"] == before["payments"]
    response = client.post(f"/api/v1/dossiers/{dossier.reference}/submit/", {field: "paid"}, format="json")
    assert response.status_code in (400, 404, 405)
    dossier.refresh_from_db()
    assert dossier.state == State.DRAFT


# --- CSRF on every POST page -----------------------------------------------------------------------


def test_every_citizen_post_page_refuses_a_post_without_csrf_token():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False, procedure=Procedure.FIRST_REGISTRATION)
    client = signed_in(owner, enforce_csrf_checks=True)
    client.post(reverse("filing-procedure", args=["duplicate"]))
    before = ledger()
    for url in (
        reverse("filing-procedure", args=["duplicate"]),
        reverse("filing-adopt", args=[dossier.reference]),
        reverse("payment-start", args=[dossier.reference]),
        reverse("dossier-withdraw", args=[dossier.reference]),
        reverse("dossier-complement", args=[dossier.reference]),
        reverse("profile"),
        reverse("signup"),
        reverse("signup-resend"),
        reverse("password_reset"),
        reverse("logout"),
    ):
        assert client.post(url, {}).status_code == 403, url
    assert ledger() == before


# --- Uploads: nothing stored on refusal -------------------------------------------------------------


def test_a_hostile_complement_answer_stores_no_file_and_no_event(media_in_tmp):
    owner = factories.citizen()
    dossier, _agent = factories.awaiting_complement(owner=owner, items=("identity",))
    files_before = files_in(media_in_tmp)
    before = ledger()
    client = signed_in(owner)
    response = client.post(
        reverse("dossier-complement", args=[dossier.reference]),
        {"identity": SimpleUploadedFile("cni.pdf", b"<html><script>alert(1)</script></html>")},
    )
    assert response.status_code == 400
    assert ledger() == before
    assert files_in(media_in_tmp) == files_before


def test_a_nul_byte_in_a_complement_correction_is_refused_with_nothing_changed():
    owner = factories.citizen()
    dossier, _agent = factories.awaiting_complement(owner=owner, items=("address_line",))
    before = ledger()
    holder_before = factories.snapshot(dossier)
    response = signed_in(owner).post(
        reverse("dossier-complement", args=[dossier.reference]), {"address_line": "3 rue\x00 de la Paix"}
    )
    assert response.status_code == 400
    assert ledger() == before
    assert factories.snapshot(dossier) == holder_before


def test_a_nul_byte_in_an_api_correction_is_a_400():
    owner = factories.citizen()
    dossier, _agent = factories.awaiting_complement(owner=owner, items=("address_line",))
    before = ledger()
    response = factories.api_client(owner).post(
        f"/api/v1/dossiers/{dossier.reference}/complement/corrections/",
        {"fields": {"address_line": "3 rue\x00"}},
        format="json",
    )
    assert response.status_code == 400
    assert ledger() == before


@pytest.mark.parametrize(
    ("procedure", "step", "field"),
    [
        ("import", "holder", "address_line"),
        ("import", "holder", "last_name"),
        ("correction", "correction", "correction_request"),
    ],
)
def test_huge_and_nul_inputs_of_a_step_are_refused_not_stored(procedure, step, field):
    user = factories.citizen()
    client = signed_in(user)
    client.post(reverse("filing-procedure", args=[procedure]))
    draft = FilingDraft.objects.get(user=user)
    FilingDraft.objects.filter(pk=draft.pk).update(step="summary")
    for value in ("x" * 200_000, "12 rue\x00 de la Paix"):
        response = client.post(
            reverse("filing-step", args=[draft.pk, step]), {**factories.holder_data(), field: value}
        )
        assert response.status_code == 200
        draft.refresh_from_db()
        assert value not in str(draft.data)


@pytest.mark.parametrize("pk", ["99999999999999999999", "2147483648", "0"])
def test_huge_integer_ids_are_404(pk):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    client = signed_in(owner)
    for url in (
        f"/demarches/brouillon/{pk}/",
        f"/demarches/brouillon/{pk}/vehicle/",
        f"/demarches/brouillon/{pk}/termine/",
        f"/demarches/pieces/{pk}/",
        f"/mon-espace/dossiers/{dossier.reference}/documents/{pk}/",
        f"/mon-espace/dossiers/{dossier.reference}/pieces/{pk}/",
    ):
        assert client.get(url).status_code == 404, url
    api = factories.api_client(owner)
    assert api.get(f"/api/v1/dossiers/{dossier.reference}/documents/{pk}/file/").status_code == 404


# --- Accounts ----------------------------------------------------------------------------------------


def test_profile_names_with_markup_are_escaped_on_pages_and_in_the_sale_acknowledgement():
    from tracking.sale_acknowledgement import sale_acknowledgement_html

    script = "<script>alert(1)</script>"
    owner = factories.citizen(first_name=script, last_name=script)
    client = signed_in(owner)
    for url in ("/mon-espace/", reverse("profile"), reverse("filing-start")):
        assert script not in client.get(url).content.decode(), url
    title = factories.registered(holder=factories.holder_data(last_name="O'Brien <b>", first_names=script))
    sale = factories.sale_declared(title=title)
    html = sale_acknowledgement_html(dossier=sale.dossier)
    assert script not in html and "<b>" not in html


@pytest.mark.parametrize(
    "next_url", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(next_url):
    user = factories.citizen(email="c@example.fr")
    user.set_password("Long-pass-4242")
    user.save(update_fields=["password"])
    response = Client().post(
        reverse("login") + "?next=" + next_url,
        {"username": "c@example.fr", "password": "Long-pass-4242", "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/"), response["Location"]
    assert not response["Location"].startswith("//")
    assert "evil" not in response["Location"]


def test_signup_says_the_same_thing_whether_the_address_has_an_account(mailoutbox):
    factories.citizen(email="known@example.fr")
    pages = []
    for email in ("known@example.fr", "new@example.fr"):
        client = Client()
        response = client.post(
            reverse("signup"),
            {
                "email": email,
                "first_name": "A",
                "last_name": "B",
                "password1": "Correct-horse-4242",
                "password2": "Correct-horse-4242",
            },
            follow=True,
        )
        page = response.content.decode().replace(email, "EMAIL")
        pages.append(re.sub(r'nonce="[^"]*"', "", page))
    assert pages[0] == pages[1]


def test_an_unconfirmed_account_cannot_log_in():
    accounts.account_signup(
        email="u@example.fr", password="Correct-horse-4242", first_name="A", last_name="B"
    )
    client = Client()
    client.post(reverse("login"), {"username": "u@example.fr", "password": "Correct-horse-4242"})
    assert "_auth_user_id" not in client.session


def test_a_confirmation_token_of_another_address_or_forged_confirms_nothing():
    from django.core import signing

    victim = accounts.account_signup(
        email="v@example.fr", password="Correct-horse-4242", first_name="A", last_name="B"
    )
    forged = signing.dumps({"u": victim.pk, "e": victim.email}, salt="another", compress=True)
    assert accounts.account_email_confirm(token=forged).status == "invalid"
    other = accounts.account_signup(
        email="o@example.fr", password="Correct-horse-4242", first_name="A", last_name="B"
    )
    token = accounts.confirmation_token_make(user=other)
    User.objects.filter(pk=other.pk).update(email="changed@example.fr")
    assert accounts.account_email_confirm(token=token).status == "invalid"
    victim.refresh_from_db()
    assert victim.email_confirmed_at is None
    response = Client().get(reverse("signup-confirm", args=["x" * 5000]))
    assert response.status_code == 400


# --- Guessing a code de cession or a formule number ------------------------------------------------


def _vehicle_step(client, draft, data):
    return client.post(reverse("filing-step", args=[draft.pk, "vehicle"]), data)


def test_guessing_a_code_de_cession_is_stopped_after_ten_failures_by_user_and_by_plate():
    from datetime import timedelta

    from django.utils import timezone

    from dossiers.models import TitleProofFailure
    from dossiers.register import TITLE_PROOF_MAX_FAILURES

    title = factories.registered()
    sale = factories.sale_declared(title=title, sold_at=(timezone.now() - timedelta(days=3)).isoformat())
    guesser = factories.citizen()
    client = signed_in(guesser)
    client.post(reverse("filing-procedure", args=["change_of_owner"]))
    draft = FilingDraft.objects.get(user=guesser)
    plate = title.vehicle.plate
    for n in range(TITLE_PROOF_MAX_FAILURES):
        response = _vehicle_step(client, draft, {"plate": plate, "code_de_cession": f"ZZZZZZZZZZ{n:02d}"})
        assert "Nous ne pouvons pas établir" in factories.text_of(response)
    # Even the right code is refused now, without asking the register, and said plainly.
    response = _vehicle_step(client, draft, {"plate": plate, "code_de_cession": sale.code_de_cession})
    assert response.status_code == 200
    assert "Trop d'essais infructueux" in factories.text_of(response)
    draft.refresh_from_db()
    assert (draft.step, draft.data) == ("vehicle", {})
    assert TitleProofFailure.objects.count() == TITLE_PROOF_MAX_FAILURES  # the refusal adds none
    # Another account on the same plate is stopped too; the guesser is stopped on another plate.
    other = factories.citizen()
    other_client = signed_in(other)
    other_client.post(reverse("filing-procedure", args=["change_of_owner"]))
    other_draft = FilingDraft.objects.get(user=other)
    response = _vehicle_step(
        other_client, other_draft, {"plate": plate, "code_de_cession": sale.code_de_cession}
    )
    assert "Trop d'essais infructueux" in factories.text_of(response)
    response = _vehicle_step(client, draft, {"plate": "AB-123-CD", "code_de_cession": "ZZZZZZZZZZZZ"})
    assert "Trop d'essais infructueux" in factories.text_of(response)
    # An hour later the buyer with the right code goes on.
    TitleProofFailure.objects.update(created_at=timezone.now() - timedelta(hours=1, minutes=1))
    response = _vehicle_step(
        other_client, other_draft, {"plate": plate, "code_de_cession": sale.code_de_cession}
    )
    assert response.status_code == 302


def test_a_form_error_is_not_counted_as_a_failed_proof():
    from dossiers.models import TitleProofFailure

    client = signed_in()
    client.post(reverse("filing-procedure", args=["duplicate"]))
    draft = FilingDraft.objects.latest("id")
    _vehicle_step(client, draft, {"plate": "", "formule_number": ""})
    assert TitleProofFailure.objects.count() == 0


# --- Complement answers past the deadline -------------------------------------------------------


def test_a_complement_is_no_longer_answered_once_its_deadline_passed_even_before_the_sweep(media_in_tmp):
    from datetime import timedelta

    from django.utils import timezone

    from cert_workflow.models import ComplementRequest

    owner = factories.citizen()
    dossier, _agent = factories.awaiting_complement(owner=owner, items=("identity", "address_line"))
    ComplementRequest.objects.filter(dossier=dossier).update(deadline=timezone.now() - timedelta(minutes=1))
    before, holder_before, files_before = ledger(), factories.snapshot(dossier), files_in(media_in_tmp)
    client = signed_in(owner)
    page = client.get(reverse("dossier-detail", args=[dossier.reference]))
    assert 'name="address_line"' not in page.content.decode()
    response = client.post(
        reverse("dossier-complement", args=[dossier.reference]),
        {
            "identity": SimpleUploadedFile("cni.pdf", factories.pdf("cni")),
            "address_line": "3 rue de la Paix",
        },
    )
    assert response.status_code == 302
    api = factories.api_client(owner)
    response = api.post(
        f"/api/v1/dossiers/{dossier.reference}/complement/corrections/",
        {"fields": {"address_line": "3 rue de la Paix"}},
        format="json",
    )
    assert response.status_code == 409, response.content
    response = api.post(f"/api/v1/dossiers/{dossier.reference}/complement/", {}, format="json")
    assert response.status_code == 409, response.content
    assert ledger() == before
    assert factories.snapshot(dossier) == holder_before
    assert files_in(media_in_tmp) == files_before


def test_a_vehicle_field_or_a_field_not_asked_is_never_corrected_through_the_api():
    owner = factories.citizen()
    dossier, _agent = factories.awaiting_complement(owner=owner, items=("address_line", "co2_g_km"))
    before, holder_before = ledger(), factories.snapshot(dossier)
    api = factories.api_client(owner)
    for fields in ({"co2_g_km": "1"}, {"last_name": "Autre"}, {"vin": "X"}, {"state": "queued"}):
        response = api.post(
            f"/api/v1/dossiers/{dossier.reference}/complement/corrections/", {"fields": fields}, format="json"
        )
        assert response.status_code == 400, fields
    assert ledger() == before
    assert factories.snapshot(dossier) == holder_before


# --- Double clicks ----------------------------------------------------------------------------------


def test_the_submit_step_sent_twice_submits_once():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, procedure=Procedure.CHANGE_OF_ADDRESS)
    factories.documents_attach(dossier=dossier, owner=owner, kinds=["identity", "proof_of_address"])
    client = signed_in(owner)
    client.post(reverse("filing-adopt", args=[dossier.reference]))
    draft = FilingDraft.objects.get(dossier=dossier)
    FilingDraft.objects.filter(pk=draft.pk).update(step="submit")
    first = client.post(reverse("filing-step", args=[draft.pk, "submit"]))
    events = DossierEvent.objects.filter(dossier=dossier).count()
    second = client.post(reverse("filing-step", args=[draft.pk, "submit"]))
    assert first.status_code == second.status_code == 302
    assert DossierEvent.objects.filter(dossier=dossier).count() == events
    dossier.refresh_from_db()
    assert dossier.state != State.DRAFT


# --- Withdrawing, and the sale acknowledgement of a withdrawn sale ---------------------------------


def test_a_decided_dossier_cannot_be_withdrawn():
    owner = factories.citizen()
    dossier = factories.submitted(owner=owner)
    Dossier.objects.filter(pk=dossier.pk).update(state=State.REJECTED)
    before = ledger()
    response = signed_in(owner).post(reverse("dossier-withdraw", args=[dossier.reference]))
    assert response.status_code == 302
    assert ledger() == before


def test_a_withdrawn_sale_has_no_acknowledgement_and_its_code_is_refused():
    from tracking.services import dossier_withdraw_by_owner

    title = factories.registered()
    sale = factories.sale_declared(title=title)
    seller = sale.dossier.applicant
    # Waiting in a centre's queue, where its seller may still withdraw it.
    Dossier.objects.filter(pk=sale.dossier_id).update(
        state=State.QUEUED, cert=factories.CertFactory(), queued_at=timezone.now()
    )
    sale.dossier.refresh_from_db()
    dossier_withdraw_by_owner(dossier=sale.dossier, actor=seller)
    response = signed_in(seller).get(reverse("dossier-sale-acknowledgement", args=[sale.dossier.reference]))
    assert response.status_code == 404


# --- Other roles, other users ---------------------------------------------------------------------


def test_dealers_and_agents_on_citizen_pages_get_nothing_of_a_citizens_dossier():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    before = ledger()
    for user in (factories.dealer(), factories.agent(), factories.supervisor(), factories.citizen()):
        client = signed_in(user)
        for method, url in (
            ("get", reverse("dossier-detail", args=[dossier.reference])),
            ("post", reverse("dossier-withdraw", args=[dossier.reference])),
            ("post", reverse("payment-start", args=[dossier.reference])),
            ("post", reverse("filing-adopt", args=[dossier.reference])),
        ):
            assert getattr(client, method)(url).status_code in (403, 404), (user.role, url)
        api = factories.api_client(user)
        assert api.post(f"/api/v1/dossiers/{dossier.reference}/payments/").status_code == 404
        assert api.get(f"/api/v1/dossiers/{dossier.reference}/payments/").status_code == 404
    assert ledger() == before


def test_another_citizens_payment_attempt_cannot_be_settled_through_a_notification_of_mine():
    mine = factories.draft(filed_by=factories.citizen(), paid=False)
    theirs_owner = factories.citizen()
    theirs = factories.draft(filed_by=theirs_owner, paid=False)
    my_attempt = payment_services.payment_start(dossier=mine, actor=mine.applicant)
    their_attempt = payment_services.payment_start(dossier=theirs, actor=theirs_owner)
    from payments.providers import FakeProvider

    # A signed notification of my session, replayed with their reference or their session id.
    payload = FakeProvider().notification_build(
        session_id=my_attempt.session_id,
        reference=mine.reference,
        outcome="succeeded",
        amount=my_attempt.amount,
    )
    before = ledger()
    client = Client()
    for forged in (
        {**payload, "reference": theirs.reference},
        {**payload, "session_id": their_attempt.session_id},
        {**payload, "amount": "0.01"},
        {k: v for k, v in payload.items() if k != "signature"},
    ):
        response = client.post(reverse("payment-notification", args=["fake"]), forged)
        assert response.status_code == 400
        response = client.get(reverse("payment-return"), forged)
        assert response.status_code == 400
    assert ledger() == before


# --- FranceConnect callback without its state ---------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?code=abc",
        "?code=abc&state=forged",
        "?state=forged",
        "?error=access_denied&state=x",
        "?code=\x00&state=\x00",
    ],
)
def test_a_franceconnect_callback_without_its_state_logs_nobody_in(settings, query):
    settings.FRANCECONNECT_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "portail"
    settings.OIDC_RP_CLIENT_SECRET = "secret"  # noqa: S105 - never sent: the state is checked first
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/token"
    settings.OIDC_OP_USER_ENDPOINT = "http://127.0.0.1:9/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "http://127.0.0.1:9/jwks"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "http://127.0.0.1:9/authorize"
    client = Client()
    session = client.session
    session["oidc_states"] = {"the-real-state": {"code_verifier": None, "nonce": "n", "added_on": 0}}
    session.save()
    users = User.objects.count()
    response = client.get("/franceconnect/retour/" + quote(query, safe="?=&"))
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == users


# --- Hostile files on every upload point ------------------------------------------------------------

HOSTILE = [
    ("scan.pdf", b"<html><body><script>alert(1)</script></body></html>"),
    ("cni.pdf", factories.pdf_hostile("javascript")),
    ("cni.pdf", factories.pdf_hostile("encrypted")),
    ("cni.png", factories.png_claiming(30_000, 30_000)),
    ("cni.pdf", b""),
    ("cni.pdf", b"%PDF-1.4\n\x00garbage"),
]


@pytest.mark.parametrize(("name", "content"), HOSTILE)
def test_a_hostile_file_through_the_api_stores_nothing(name, content):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    before = factories.snapshot(dossier)
    response = factories.api_client(owner).post(
        f"/api/v1/dossiers/{dossier.reference}/documents/",
        {"kind": "identity", "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert factories.snapshot(dossier) == before


@pytest.mark.parametrize(("name", "content"), HOSTILE)
def test_a_hostile_complement_file_stores_nothing(name, content):
    owner = factories.citizen()
    dossier, _agent = factories.awaiting_complement(owner=owner, items=("identity",))
    before = factories.snapshot(dossier)
    response = signed_in(owner).post(
        reverse("dossier-complement", args=[dossier.reference]),
        {"identity": SimpleUploadedFile(name, content)},
    )
    assert response.status_code == 400
    assert factories.snapshot(dossier) == before


@pytest.mark.parametrize("kind", ["", "evil", "identity\x00", "x" * 5000])
def test_another_piece_of_an_unknown_kind_stores_nothing(kind):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, procedure=Procedure.CHANGE_OF_ADDRESS)
    client = signed_in(owner)
    client.post(reverse("filing-adopt", args=[dossier.reference]))
    draft = FilingDraft.objects.get(dossier=dossier)
    before = factories.snapshot(dossier)
    response = client.post(
        reverse("filing-step", args=[draft.pk, "documents"]),
        {"action": "save", "other_kind": kind, "file_other": SimpleUploadedFile("a.pdf", factories.pdf("a"))},
    )
    assert response.status_code == 200
    assert "Type de pièce inconnu" in factories.text_of(response)
    assert factories.snapshot(dossier) == before


def test_the_fees_step_posted_with_paid_fields_marks_nothing_paid_and_the_submit_is_refused():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False, procedure=Procedure.IMPORT)
    client = signed_in(owner)
    client.post(reverse("filing-adopt", args=[dossier.reference]))
    draft = FilingDraft.objects.get(dossier=dossier)
    FilingDraft.objects.filter(pk=draft.pk).update(step="fees")
    before = ledger()
    client.post(reverse("filing-step", args=[draft.pk, "fees"]), {"paid": "1", "y6": "0", "fully_paid": "1"})
    response = client.post(reverse("filing-step", args=[draft.pk, "submit"]), {"paid": "1"})
    assert response.status_code == 200
    after = ledger()
    assert after["payments"] == before["payments"]
    assert after["dossiers"] == before["dossiers"]
    dossier.refresh_from_db()
    assert dossier.state == State.DRAFT


def test_signup_hashes_the_password_whether_or_not_the_address_is_known(settings):
    from tests.factories import CountingHasher

    settings.PASSWORD_HASHERS = ["tests.factories.CountingHasher"]
    factories.citizen(email="known@example.fr")
    counts = []
    for email in ("known@example.fr", "new@example.fr"):
        start = CountingHasher.encoded
        accounts.account_signup(email=email, password="Correct-horse-4242", first_name="A", last_name="B")
        counts.append(CountingHasher.encoded - start)
    assert counts == [1, 1]


def test_a_name_with_markup_is_escaped_in_the_confirmation_mail(
    mailoutbox, django_capture_on_commit_callbacks
):
    script = "<script>alert(1)</script>"
    with django_capture_on_commit_callbacks(execute=True):
        accounts.account_signup(
            email="s@example.fr", password="Correct-horse-4242", first_name=script, last_name="B"
        )
    assert len(mailoutbox) == 1
    html_part = mailoutbox[0].alternatives[0][0]
    assert script not in html_part
    assert "\n" not in mailoutbox[0].subject


def test_guessing_a_code_de_cession_through_the_api_is_stopped_as_on_the_web():
    from datetime import timedelta

    from django.utils import timezone

    from dossiers.register import TITLE_PROOF_MAX_FAILURES

    title = factories.registered()
    sale = factories.sale_declared(title=title, sold_at=(timezone.now() - timedelta(days=3)).isoformat())
    buyer = factories.citizen()
    api = factories.api_client(buyer)

    def body(code: str) -> dict:
        return {
            "procedure": "change_of_owner",
            "holder": factories.holder_data(),
            "title": {"plate": title.vehicle.plate},
            "sale": {"sold_at": (timezone.now() - timedelta(days=2)).isoformat(), "code_de_cession": code},
        }

    for n in range(TITLE_PROOF_MAX_FAILURES):
        response = api.post("/api/v1/dossiers/", body(f"ZZZZZZZZZZ{n:02d}"), format="json")
        assert factories.errors_of(response) == {"title": "title_not_proved"}
    before = factories.register_counts()
    response = api.post("/api/v1/dossiers/", body(sale.code_de_cession), format="json")
    assert response.status_code == 400
    assert factories.errors_of(response) == {"title": "too_many_attempts"}
    assert "Trop d'essais" in response.json()["errors"][0]["message"]
    assert factories.register_counts() == before


def test_a_password_reset_token_of_one_user_does_not_reset_another():
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    attacker = factories.citizen(email="a@example.fr")
    victim = factories.citizen(email="v@example.fr")
    victim.set_password("Victim-pass-4242")
    victim.save(update_fields=["password"])
    token = default_token_generator.make_token(attacker)
    client = Client()
    for uid, tok in (
        (urlsafe_base64_encode(force_bytes(victim.pk)), token),
        ("\x00", token),
        ("x" * 3000, "y" * 3000),
    ):
        url = f"/mot-de-passe/nouveau/{quote(uid, safe='')}/{quote(tok, safe='')}/"
        response = client.get(url, follow=True)
        assert response.status_code in (200, 404)
        client.post(
            response.redirect_chain[-1][0] if response.redirect_chain else url,
            {"new_password1": "Stolen-pass-4242", "new_password2": "Stolen-pass-4242"},
        )
    victim.refresh_from_db()
    assert victim.check_password("Victim-pass-4242")


def test_another_citizens_sale_acknowledgement_uploads_and_draft_are_404_on_get_and_post():
    title = factories.registered()
    sale = factories.sale_declared(title=title)
    dossier = sale.dossier
    seller = dossier.applicant
    if dossier.state in (State.DRAFT, State.AWAITING_COMPLEMENT):
        factories.documents_attach(dossier=dossier, owner=seller, kinds=["identity"])
    document = Document.objects.filter(dossier=dossier).first()
    before = ledger()
    stranger = signed_in()
    urls = [
        reverse("dossier-sale-acknowledgement", args=[dossier.reference]),
        reverse("dossier-detail", args=[dossier.reference]),
        reverse("dossier-withdraw", args=[dossier.reference]),
    ]
    if document is not None:
        urls += [
            reverse("dossier-upload", args=[dossier.reference, document.pk]),
            reverse("filing-document", args=[document.pk]),
        ]
    for url in urls:
        assert stranger.get(url).status_code == 404, url
    for url in (
        reverse("dossier-withdraw", args=[dossier.reference]),
        reverse("dossier-complement", args=[dossier.reference]),
        reverse("filing-adopt", args=[dossier.reference]),
    ):
        assert stranger.post(url).status_code == 404, url
    assert ledger() == before
    assert signed_in(seller).get(urls[0]).status_code == 200
