"""Filing on the web (issue 13): each procedure's guided form through the Django test client, from
the start page to the submitted dossier (the paid ones up to the fees step), and every refusal with
nothing stored."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from dossiers.models import Document, Dossier, Procedure, Sale, State
from filing.models import FilingDraft
from tests import factories
from tests.factories import text_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

HOLDER = factories.holder_data()  # the holder of the register's titles below, unless said otherwise


def signed_in(client, user=None):
    user = user or factories.citizen()
    client.force_login(user)
    return user


def start(client, procedure: str) -> FilingDraft:
    response = client.post(reverse("filing-procedure", args=[procedure]))
    draft = FilingDraft.objects.filter(procedure=procedure).latest("id")
    assert response.status_code == 302
    assert response["Location"] == reverse("filing-step", args=[draft.pk, "vehicle"])
    return draft


def post(client, draft: FilingDraft, step: str, data: dict | None = None, **extra):
    return client.post(reverse("filing-step", args=[draft.pk, step]), data or {}, **extra)


def passes(client, draft: FilingDraft, step: str, data: dict, then: str) -> None:
    response = post(client, draft, step, data)
    assert response.status_code == 302, re.findall(
        r'(?s)<div class="fr-alert fr-alert--error.*?</div>', text_of(response)
    )
    assert response["Location"] == reverse("filing-step", args=[draft.pk, then])


def title_proof(title) -> dict:
    return {**factories.proof(title), "last_name": HOLDER["last_name"], "birth_date": HOLDER["birth_date"]}


def holder_inputs(**overrides) -> dict:
    data = {
        name: HOLDER[name]
        for name in ("last_name", "first_names", "birth_date", "address_line", "postcode", "city")
    }
    data["email"] = "camille@example.fr"
    data.update(overrides)
    return data


def sale_inputs(days_ago: int = 3) -> dict:
    day = timezone.localdate() - timedelta(days=days_ago)
    return {"sold_at_date": day.isoformat(), "sold_at_time": "10:30", "mileage_km": "84 500"}


def upload(client, draft, kinds, *, action="next", content=None, name=None):
    files = {
        f"file_{kind}": SimpleUploadedFile(
            name or f"{kind}.pdf", content if content is not None else factories.pdf(kind)
        )
        for kind in kinds
    }
    return post(client, draft, "documents", {"action": action, **files})


def create_dossier(client, draft) -> Dossier:
    passes(client, draft, "summary", {}, "documents")
    draft.refresh_from_db()
    assert draft.data == {}  # the inputs now live in the dossier
    return draft.dossier


# --- The start pages ------------------------------------------------------------------------------


def test_the_start_page_lists_every_procedure_and_each_lists_its_documents_before_starting(client):
    signed_in(client)
    page = text_of(client.get(reverse("filing-start")))
    for label in (
        "Changement de titulaire",
        "Déclaration de cession",
        "Changement d'adresse",
        "Duplicata",
        "Correction du certificat",
        "Véhicule importé",
    ):
        assert label in page
    page = text_of(client.get(reverse("filing-procedure", args=["change_of_owner"])))
    assert "Certificat de cession (cerfa 15776)" in page
    assert "Ancien certificat barré" in page
    assert "code de cession" in page
    page = text_of(client.get(reverse("filing-procedure", args=["duplicate"])))
    assert "Récépissé de déclaration de vol" in page and "(après un vol)" in page
    assert FilingDraft.objects.count() == 0  # reading is not starting


def test_filing_is_for_signed_in_citizens(client):
    assert client.get(reverse("filing-start"))["Location"].startswith(reverse("login"))
    client.force_login(factories.dealer())
    assert client.get(reverse("filing-start")).status_code == 403
    assert client.get(reverse("filing-procedure", args=["first_registration"])).status_code == 403


# --- Each procedure, all the way ------------------------------------------------------------------


def test_duplicate_after_a_loss_up_to_the_fees(client):
    user = signed_in(client)
    title = factories.registered()
    draft = start(client, "duplicate")
    # The vehicle step is prefilled with the citizen's name.
    assert 'value="Martin"' in client.get(reverse("filing-step", args=[draft.pk, "vehicle"])).content.decode()
    passes(client, draft, "vehicle", title_proof(title), "holder")
    holder_page = text_of(client.get(reverse("filing-step", args=[draft.pk, "holder"])))
    assert "Étape 2 sur 7" in holder_page and 'value="1985-04-12"' in holder_page
    passes(client, draft, "holder", holder_inputs(), "reason")
    passes(client, draft, "reason", {"duplicate_reason": "loss"}, "summary")
    summary = text_of(client.get(reverse("filing-step", args=[draft.pk, "summary"])))
    assert "Récapitulatif" in summary and "Perte" in summary and "RENAULT MEGANE" in summary
    dossier = create_dossier(client, draft)
    assert (dossier.procedure, dossier.state, dossier.duplicate_reason) == ("duplicate", State.DRAFT, "loss")
    assert dossier.applicant == user and dossier.vehicle == title.vehicle
    response = upload(client, draft, ["identity", "proof_of_address"])
    assert response["Location"] == reverse("filing-step", args=[draft.pk, "fees"])
    page = text_of(client.get(reverse("filing-step", args=[draft.pk, "fees"])))
    assert "Taxe fixe" in page and "Redevance d'acheminement" in page and "Montant total" in page
    payment = reverse("payment-start", args=[dossier.reference])
    assert (
        f"{payment}?next=%2Fdemarches%2Fbrouillon%2F{draft.pk}%2Ffees%2F"
        in client.get(reverse("filing-step", args=[draft.pk, "fees"])).content.decode()
    )
    passes(client, draft, "fees", {}, "submit")


def test_change_of_address_is_filed_and_submitted_with_the_new_address(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "change_of_address")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    passes(client, draft, "holder", holder_inputs(), "address")
    passes(
        client,
        draft,
        "address",
        {"address_line": "3 rue Oberkampf", "postcode": "75011", "city": "Paris"},
        "summary",
    )
    dossier = create_dossier(client, draft)
    assert (dossier.holder.postcode, dossier.holder.department) == ("75011", "75")
    upload(client, draft, ["identity", "proof_of_address"])
    fees_page = text_of(client.get(reverse("filing-step", args=[draft.pk, "fees"])))
    # Free: the sentence alone, no table of zeros.
    assert "Cette démarche est gratuite : aucune taxe à payer." in fees_page
    assert "0,00" not in fees_page and "Taxe régionale" not in fees_page
    passes(client, draft, "fees", {}, "submit")
    response = post(client, draft, "submit")
    assert response["Location"] == reverse("dossier-detail", args=[dossier.reference])
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED
    # Finished: no longer offered to resume.
    assert "Reprendre" not in text_of(client.get(reverse("space")))


def test_correction_says_what_is_wrong_and_is_submitted(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "correction")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    passes(client, draft, "holder", holder_inputs(), "correction")
    passes(client, draft, "correction", {"correction_request": "D.3 : MEGANE\r\nau lieu de MEGAN"}, "summary")
    dossier = create_dossier(client, draft)
    assert dossier.correction_request == "D.3 : MEGANE au lieu de MEGAN"
    upload(client, draft, ["identity", "previous_certificate"])
    passes(client, draft, "fees", {}, "submit")
    post(client, draft, "submit")
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED
    # What the citizen wrote reaches the agent who decides.
    client.force_login(factories.supervisor())
    page = text_of(client.get(reverse("agent-dossier", args=[dossier.reference])))
    assert re.search(r"Correction demandée</dt>\s*<dd>D.3 : MEGANE au lieu de MEGAN</dd>", page), page


def test_sale_declaration_ends_with_the_code_de_cession_for_the_buyer(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "sale_declaration")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    passes(client, draft, "holder", holder_inputs(), "sale")
    passes(client, draft, "sale", sale_inputs(), "summary")
    dossier = create_dossier(client, draft)
    assert dossier.sale.mileage_km == 84500
    upload(client, draft, ["identity"])
    passes(client, draft, "fees", {}, "submit")
    response = post(client, draft, "submit")
    assert response["Location"] == reverse("filing-done", args=[draft.pk])
    page = client.get(response["Location"]).content.decode()
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED
    assert dossier.sale.code_de_cession in page
    assert reverse("dossier-sale-acknowledgement", args=[dossier.reference]) in page


def test_change_of_owner_with_the_sellers_code_up_to_the_fees(client):
    title = factories.registered()
    seller_sale = factories.sale_declared(
        title=title, sold_at=(timezone.now() - timedelta(days=3)).isoformat()
    )
    signed_in(client, factories.citizen(first_name="Lou", last_name="Acheteur"))
    draft = start(client, "change_of_owner")
    passes(
        client,
        draft,
        "vehicle",
        {"plate": title.vehicle.plate, "code_de_cession": seller_sale.code_de_cession.lower()},
        "holder",
    )
    # The buyer's own name is prefilled, not the seller's.
    assert (
        'value="Acheteur"' in client.get(reverse("filing-step", args=[draft.pk, "holder"])).content.decode()
    )
    passes(client, draft, "holder", holder_inputs(last_name="Acheteur", first_names="Lou"), "sale")
    passes(client, draft, "sale", sale_inputs(), "summary")
    dossier = create_dossier(client, draft)
    seller_sale.refresh_from_db()
    assert seller_sale.code_used_by == dossier
    assert dossier.holder.last_name == "Acheteur" and dossier.vehicle == title.vehicle
    upload(client, draft, factories.COMPLETE[Procedure.CHANGE_OF_OWNER])
    assert "Montant total" in text_of(client.get(reverse("filing-step", args=[draft.pk, "fees"])))


def test_change_of_owner_with_the_crossed_out_title(client):
    title = factories.registered()
    signed_in(client)
    draft = start(client, "change_of_owner")
    passes(
        client,
        draft,
        "vehicle",
        {"plate": title.vehicle.plate, "formule_number": title.formule_number},
        "holder",
    )
    passes(client, draft, "holder", holder_inputs(last_name="Durand"), "sale")
    passes(client, draft, "sale", sale_inputs(), "summary")
    dossier = create_dossier(client, draft)
    assert dossier.vehicle == title.vehicle and dossier.sale.code_de_cession == ""


def test_import_is_the_one_procedure_where_the_vehicle_is_typed(client):
    signed_in(client)
    draft = start(client, "import")
    vehicle = factories.vehicle_data(first_registration_date="2024-02-01")
    inputs = {
        name: str(vehicle[name])
        for name in (
            "vin",
            "make",
            "commercial_name",
            "genre",
            "energy",
            "fiscal_power",
            "power_kw",
            "co2_g_km",
            "mass_kg",
            "first_registration_date",
        )
    }
    passes(client, draft, "vehicle", inputs, "holder")
    passes(client, draft, "holder", holder_inputs(), "summary")
    dossier = create_dossier(client, draft)
    assert dossier.vehicle.vin == vehicle["vin"] and dossier.vehicle.plate is None
    upload(client, draft, factories.COMPLETE[Procedure.IMPORT])
    assert "Montant total" in text_of(client.get(reverse("filing-step", args=[draft.pk, "fees"])))


def test_a_registered_vehicle_is_never_typed_in(client):
    signed_in(client)
    draft = start(client, "duplicate")
    page = client.get(reverse("filing-step", args=[draft.pk, "vehicle"])).content.decode()
    assert 'name="vin"' not in page and 'name="energy"' not in page


# --- Errors: all at once, next to their fields, summarised and focused -----------------------------


def test_every_error_of_a_step_is_shown_at_once_next_to_its_field_with_a_focused_summary(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "duplicate")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    response = post(
        client,
        draft,
        "holder",
        holder_inputs(first_names="", address_line="", postcode="2500", city="", birth_date="31/02/1985"),
    )
    page = response.content.decode()
    assert response.status_code == 200
    for field in ("first_names", "address_line", "postcode", "city", "birth_date"):
        assert f'id="id_{field}-messages"' in page
        assert f'id="id_{field}" name="{field}"' in page
    assert page.count('class="fr-message fr-message--error fr-error-text"') == 5
    assert 'id="error-summary" role="alert" tabindex="-1" autofocus' in page
    assert "Le formulaire contient 5 erreurs" in text_of(response)
    assert 'href="#id_postcode"' in page
    draft.refresh_from_db()
    assert draft.step == "holder" and "holder" not in draft.data


def test_a_sale_in_the_future_is_refused_on_the_sale_step(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "sale_declaration")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    passes(client, draft, "holder", holder_inputs(), "sale")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = post(client, draft, "sale", {"sold_at_date": tomorrow, "sold_at_time": "10:00"})
    assert "sa date et son heure sont passées" in text_of(response)
    draft.refresh_from_db()
    assert "sale" not in draft.data and Sale.objects.count() == 0


# --- Refusals: nothing stored ---------------------------------------------------------------------


def test_a_strangers_plate_and_formule_are_refused_with_nothing_stored(client):
    signed_in(client)
    stranger = factories.registered(holder=factories.holder_data(last_name="Dupont"))
    draft = start(client, "duplicate")
    before = factories.register_counts()
    response = post(client, draft, "vehicle", title_proof(stranger))
    assert response.status_code == 200
    assert "Nous ne pouvons pas établir que vous êtes titulaire" in text_of(response)
    draft.refresh_from_db()
    assert (draft.step, draft.data, draft.dossier) == ("vehicle", {}, None)
    assert factories.register_counts() == before
    # Nor can the next steps be reached by their address.
    assert post(client, draft, "summary")["Location"] == reverse("filing-step", args=[draft.pk, "vehicle"])
    assert Dossier.objects.count() == before["models"]["Dossier"]


def test_a_title_procedure_on_a_vehicle_of_ones_own_open_dossier_says_to_follow_that_dossier(client):
    # The citizen bought the car: until the change of owner is decided, the register names the seller.
    user = signed_in(client)
    bought = factories.submitted(owner=user, procedure=Procedure.CHANGE_OF_OWNER)
    title = bought.vehicle.titles.get(current=True)
    draft = start(client, "duplicate")
    before = factories.register_counts()
    response = post(client, draft, "vehicle", title_proof(title))
    page = text_of(response)
    assert response.status_code == 200
    assert "Vous avez déjà un dossier en cours pour ce véhicule" in page
    assert (
        bought.reference in page
        and "Changement de titulaire" in page
        and "Suivez-le depuis Mon espace" in page
    )
    assert "Nous ne pouvons pas établir" not in page
    draft.refresh_from_db()
    assert (draft.step, draft.data, draft.dossier) == ("vehicle", {}, None)
    assert factories.register_counts() == before
    # Another citizen typing the same plate and formule learns nothing of that dossier.
    signed_in(client)
    other = start(client, "duplicate")
    page = text_of(post(client, other, "vehicle", title_proof(title)))
    assert "Nous ne pouvons pas établir que vous êtes titulaire" in page and bought.reference not in page


@pytest.mark.parametrize("reuse", [False, True])
def test_a_wrong_or_reused_code_de_cession_is_refused_with_nothing_stored(client, reuse):
    title = factories.registered()
    seller_sale = factories.sale_declared(
        title=title, sold_at=(timezone.now() - timedelta(days=3)).isoformat()
    )
    code = seller_sale.code_de_cession
    if reuse:
        _use_code(title, code)  # the first buyer's change of owner took it
    else:
        code = "ZZZZZZZZZZZZ"
    signed_in(client)
    draft = start(client, "change_of_owner")
    before = factories.register_counts()
    response = post(client, draft, "vehicle", {"plate": title.vehicle.plate, "code_de_cession": code})
    assert "Nous ne pouvons pas établir" in text_of(response)
    draft.refresh_from_db()
    assert (draft.step, draft.data) == ("vehicle", {})
    assert factories.register_counts() == before


def _use_code(title, code):
    from dossiers.services import dossier_create

    dossier_create(
        procedure=Procedure.CHANGE_OF_OWNER,
        vehicle=None,
        holder=factories.holder_data(last_name="Premier"),
        filed_by=factories.citizen(),
        facts={
            "title": {"plate": title.vehicle.plate},
            "sale": {"sold_at": timezone.now().isoformat(), "code_de_cession": code},
        },
    )


@pytest.fixture
def at_documents(client):
    """A citizen's duplicate, its dossier created, at the documents step."""
    signed_in(client)
    title = factories.registered()
    draft = start(client, "duplicate")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    passes(client, draft, "holder", holder_inputs(), "reason")
    passes(client, draft, "reason", {"duplicate_reason": "theft"}, "summary")
    create_dossier(client, draft)
    return draft


HTML = b"<html><body><script>alert(1)</script></body></html>"


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (HTML, "scan.pdf", "PDF, JPEG ou PNG"),  # disguised by its name
        (factories.pdf_hostile("javascript"), "cni.pdf", "contenu actif"),
        (factories.pdf_hostile("encrypted"), "cni.pdf", "chiffré"),
        (factories.png_claiming(30_000, 30_000), "cni.png", "mégapixels"),  # an image bomb
        (b"", "cni.pdf", "vide"),
    ],
)
def test_a_refused_file_says_why_next_to_its_field_and_stores_nothing(
    client, at_documents, content, name, words
):
    draft = at_documents
    before = factories.snapshot(draft.dossier)
    response = upload(client, draft, ["identity"], content=content, name=name)
    assert response.status_code == 200
    page = text_of(response)
    assert words in page
    assert 'id="id_file_identity-messages"' in response.content.decode()
    assert "Le formulaire contient" in page
    assert factories.snapshot(draft.dossier) == before
    draft.refresh_from_db()
    assert draft.step == "documents"


def test_an_oversized_file_is_refused_and_stores_nothing(client, at_documents, settings):
    settings.DOCUMENT_MAX_BYTES = 1000
    before = factories.snapshot(at_documents.dossier)
    response = upload(client, at_documents, ["identity"], content=factories.pdf("x" * 2000))
    assert response.status_code == 200
    assert 'id="id_file_identity-messages"' in response.content.decode()
    assert factories.snapshot(at_documents.dossier) == before


def test_a_theft_needs_the_police_report_before_moving_on(client, at_documents):
    response = upload(client, at_documents, ["identity", "proof_of_address"])
    assert response.status_code == 200
    assert "Récépissé de déclaration de vol" in text_of(response)
    assert 'id="id_file_police_report-messages"' in response.content.decode()
    assert Document.objects.filter(dossier=at_documents.dossier).count() == 2  # the good ones are kept
    at_documents.refresh_from_db()
    assert at_documents.step == "documents"
    response = upload(client, at_documents, ["police_report"])
    assert response["Location"] == reverse("filing-step", args=[at_documents.pk, "fees"])


def test_the_citizen_downloads_their_own_upload_as_an_attachment(client, at_documents):
    upload(client, at_documents, ["identity"], action="save")
    document = Document.objects.get(dossier=at_documents.dossier)
    page = client.get(reverse("filing-step", args=[at_documents.pk, "documents"])).content.decode()
    assert reverse("filing-document", args=[document.pk]) in page
    response = client.get(reverse("filing-document", args=[document.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == factories.pdf("identity")


def test_another_citizens_draft_dossier_and_document_are_404(client, at_documents):
    upload(client, at_documents, ["identity"], action="save")
    document = Document.objects.get(dossier=at_documents.dossier)
    before = factories.snapshot(at_documents.dossier)
    signed_in(client)  # someone else
    for url in (
        reverse("filing-resume", args=[at_documents.pk]),
        reverse("filing-step", args=[at_documents.pk, "documents"]),
        reverse("filing-done", args=[at_documents.pk]),
        reverse("filing-document", args=[document.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert upload(client, at_documents, ["police_report"]).status_code == 404
    assert post(client, at_documents, "submit").status_code == 404
    assert factories.snapshot(at_documents.dossier) == before


def test_an_unfinished_filing_is_resumed_from_my_space(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "duplicate")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    space = client.get(reverse("space")).content.decode()
    resume = reverse("filing-resume", args=[draft.pk])
    assert resume in space and "Reprendre" in space and reverse("filing-start") in space
    response = client.get(resume)
    assert response["Location"] == reverse("filing-step", args=[draft.pk, "holder"])
    # The step already done shows what was entered.
    assert (
        title.formule_number
        in client.get(reverse("filing-step", args=[draft.pk, "vehicle"])).content.decode()
    )


def test_the_summary_sent_twice_creates_one_dossier(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "duplicate")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    passes(client, draft, "holder", holder_inputs(), "reason")
    passes(client, draft, "reason", {"duplicate_reason": "damage"}, "summary")
    create_dossier(client, draft)
    count = Dossier.objects.count()
    assert post(client, draft, "summary")["Location"] == reverse("filing-step", args=[draft.pk, "documents"])
    assert Dossier.objects.count() == count


def test_the_demo_citizen_files_on_the_web_with_a_printed_plate_and_formule(client, settings):
    from io import StringIO

    from django.core.management import call_command

    from portal.models import User

    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", "--password", "mot-de-passe-demo-test", stdout=out)
    title = next(
        t
        for t in factories.RegisteredTitle.objects.filter(
            current=True, vehicle__dossiers__isnull=True
        ).select_related("vehicle", "holder")
        if t.holder.last_name == "Martin"
    )
    assert title.vehicle.plate in out.getvalue() and title.formule_number in out.getvalue()
    client.force_login(User.objects.get(email="citoyen@example.fr"))
    draft = start(client, "duplicate")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    passes(client, draft, "holder", holder_inputs(), "reason")
    passes(client, draft, "reason", {"duplicate_reason": "damage"}, "summary")
    assert create_dossier(client, draft).vehicle == title.vehicle


def test_a_draft_dossier_made_through_the_api_is_taken_up_in_the_guided_form(client):
    user = signed_in(client)
    dossier = factories.draft(
        filed_by=user, procedure=Procedure.DUPLICATE, facts={"duplicate_reason": "loss"}
    )
    space = client.get(reverse("space")).content.decode()
    adopt = reverse("filing-adopt", args=[dossier.reference])
    assert adopt in space
    response = client.post(adopt)
    draft = FilingDraft.objects.get(dossier=dossier)
    assert response["Location"] == reverse("filing-step", args=[draft.pk, "documents"])
    assert client.post(adopt).status_code == 404  # taken up once; now listed as a filing to resume
    assert reverse("filing-resume", args=[draft.pk]) in client.get(reverse("space")).content.decode()
    signed_in(client)  # another citizen
    other = factories.draft(filed_by=factories.citizen(), procedure=Procedure.DUPLICATE)
    assert client.post(reverse("filing-adopt", args=[other.reference])).status_code == 404
    assert not FilingDraft.objects.filter(dossier=other).exists()


def test_the_draft_dossiers_page_leads_back_to_its_guided_form(client):
    user = signed_in(client)
    dossier = factories.draft(
        filed_by=user, procedure=Procedure.DUPLICATE, facts={"duplicate_reason": "loss"}
    )
    page = client.get(reverse("dossier-detail", args=[dossier.reference])).content.decode()
    assert reverse("filing-adopt", args=[dossier.reference]) in page  # made elsewhere: taken up
    client.post(reverse("filing-adopt", args=[dossier.reference]))
    draft = FilingDraft.objects.get(dossier=dossier)
    page = text_of(client.get(reverse("dossier-detail", args=[dossier.reference])))
    assert "Reprendre la saisie" in page
    assert (
        reverse("filing-resume", args=[draft.pk])
        in client.get(reverse("dossier-detail", args=[dossier.reference])).content.decode()
    )


def test_the_summary_shows_dates_the_french_way(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "sale_declaration")
    passes(client, draft, "vehicle", title_proof(title), "holder")
    passes(client, draft, "holder", holder_inputs(birth_date="1985-04-12"), "sale")
    passes(client, draft, "sale", {**sale_inputs(), "sold_at_date": "2026-01-05"}, "summary")
    page = text_of(client.get(reverse("filing-step", args=[draft.pk, "summary"])))
    assert "12/04/1985" in page and "05/01/2026" in page
    assert "1985-04-12" not in page and "2026-01-05" not in page


def test_an_imported_car_without_its_mass_is_refused_on_the_vehicle_step(client):
    # The weight malus of a passenger car needs its mass: without it the fees cannot be computed.
    signed_in(client)
    draft = start(client, "import")
    vehicle = factories.vehicle_data(first_registration_date="2024-02-01")
    names = ("vin", "make", "commercial_name", "genre", "energy", "fiscal_power", "co2_g_km")
    inputs = {name: str(vehicle[name]) for name in (*names, "first_registration_date")}
    assert inputs["genre"] == "VP"
    response = post(client, draft, "vehicle", inputs)
    assert response.status_code == 200
    assert "La masse en service (G) est obligatoire pour une voiture" in text_of(response)
    draft.refresh_from_db()
    assert draft.step == "vehicle" and not draft.data.get("vehicle")


def test_fees_that_cannot_be_computed_are_explained_and_the_submit_refused_with_nothing_changed(client):
    # A car dossier made before its mass (G) was required: the weight malus cannot be computed.
    user = signed_in(client)
    dossier = factories.draft(filed_by=user, procedure=Procedure.IMPORT, paid=False)
    type(dossier.vehicle).objects.filter(pk=dossier.vehicle.pk).update(mass_kg=None)
    client.post(reverse("filing-adopt", args=[dossier.reference]))
    draft = FilingDraft.objects.get(dossier=dossier)
    upload(client, draft, factories.COMPLETE[Procedure.IMPORT])
    fees_page = client.get(reverse("filing-step", args=[draft.pk, "fees"]))
    payment_page = client.get(reverse("payment-start", args=[dossier.reference]))
    assert fees_page.status_code == 200 and payment_page.status_code == 400
    for page in (fees_page, payment_page):
        assert "Les taxes de ce dossier ne peuvent pas être calculées" in text_of(page)
    events = dossier.events.count()
    # Starting the payment, on the page or the API, says the same and starts nothing.
    started = client.post(reverse("payment-start", args=[dossier.reference]))
    assert started.status_code in (200, 400)
    assert "Les taxes de ce dossier ne peuvent pas être calculées" in text_of(started)
    api = factories.api_client(user)
    for response in (
        api.get(reverse("api-dossier-payments", args=[dossier.reference])),
        api.post(reverse("api-dossier-payments", args=[dossier.reference])),
    ):
        assert response.status_code == 400 and factories.errors_of(response) == {"fees": "fees_uncomputable"}
    assert not dossier.payment_attempts.exists()
    passes(client, draft, "fees", {}, "submit")
    refused = post(client, draft, "submit")
    assert refused.status_code == 200
    assert "Les taxes de ce dossier ne peuvent pas être calculées" in text_of(refused)
    dossier.refresh_from_db()
    assert dossier.state == State.DRAFT and dossier.events.count() == events


def test_fees_when_the_rate_tables_do_not_cover_today_are_explained_the_french_way(client, monkeypatch):
    from dossiers import fees as fees_module

    user = signed_in(client)
    dossier = factories.draft(filed_by=user, procedure=Procedure.DUPLICATE, paid=False)
    client.post(reverse("filing-adopt", args=[dossier.reference]))
    draft = FilingDraft.objects.get(dossier=dossier)
    upload(client, draft, factories.COMPLETE[Procedure.DUPLICATE])
    # The rate tables as they would be once today is past their last period.
    monkeypatch.setattr(fees_module, "REGIONAL_RATES", {})
    today = timezone.localdate()
    events = dossier.events.count()
    pages = [
        client.get(reverse("filing-step", args=[draft.pk, "fees"])),
        client.get(reverse("payment-start", args=[dossier.reference])),
    ]
    passes(client, draft, "fees", {}, "submit")
    pages.append(post(client, draft, "submit"))
    for page in pages:
        text = text_of(page)
        assert "Le calcul des taxes est momentanément indisponible" in text
        assert today.strftime("%d/%m/%Y") in text and "réessayez plus tard" in text
        assert today.isoformat() not in text and "tables à mettre à jour" not in text
    dossier.refresh_from_db()
    assert dossier.state == State.DRAFT and dossier.events.count() == events


def test_the_fees_step_and_the_payment_page_name_the_taxes_alike(client):
    from dossiers.fees import FEE_LABELS

    user = signed_in(client)
    dossier = factories.draft(filed_by=user, procedure=Procedure.IMPORT, paid=False)
    client.post(reverse("filing-adopt", args=[dossier.reference]))
    draft = FilingDraft.objects.get(dossier=dossier)
    upload(client, draft, factories.COMPLETE[Procedure.IMPORT])
    fees_page = text_of(client.get(reverse("filing-step", args=[draft.pk, "fees"])))
    payment_page = text_of(client.get(reverse("payment-start", args=[dossier.reference])))
    for label in FEE_LABELS.values():
        assert str(label) in fees_page and str(label) in payment_page


def test_every_date_says_its_format_and_is_taken_typed_the_french_way(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "sale_declaration")
    vehicle_page = client.get(reverse("filing-step", args=[draft.pk, "vehicle"])).content.decode()
    assert re.search(r'for="id_birth_date">.*?Format attendu : JJ/MM/AAAA', vehicle_page, re.S)
    passes(client, draft, "vehicle", {**title_proof(title), "birth_date": "12/04/1985"}, "holder")
    holder_page = client.get(reverse("filing-step", args=[draft.pk, "holder"])).content.decode()
    assert 'value="1985-04-12"' in holder_page and "Format attendu : JJ/MM/AAAA" in holder_page
    passes(client, draft, "holder", holder_inputs(birth_date="12/04/1985"), "sale")
    day = timezone.localdate() - timedelta(days=3)
    assert "Format attendu : JJ/MM/AAAA" in text_of(
        client.get(reverse("filing-step", args=[draft.pk, "sale"]))
    )
    passes(client, draft, "sale", {**sale_inputs(), "sold_at_date": day.strftime("%d/%m/%Y")}, "summary")
    summary = text_of(client.get(reverse("filing-step", args=[draft.pk, "summary"])))
    assert "12/04/1985" in summary and day.strftime("%d/%m/%Y") in summary
    dossier = create_dossier(client, draft)
    assert timezone.localtime(dossier.sale.sold_at).date() == day


def test_the_start_page_says_when_each_procedure_is_needed(client):
    signed_in(client)
    page = text_of(client.get(reverse("filing-start")))
    assert "Vous avez acheté un véhicule d'occasion" in page
    assert "Vous avez vendu ou donné votre véhicule" in page
    assert "perdu, volé ou abîmé" in page


def test_the_home_page_sends_a_signed_in_citizen_to_the_procedures(client):
    signed_in(client)
    page = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("filing-start")}"' in page
    assert "passent pour l'instant par l'API" not in page


def test_every_step_before_the_dossier_has_a_way_back_the_first_to_the_procedure(client):
    signed_in(client)
    title = factories.registered()
    draft = start(client, "duplicate")
    first = client.get(reverse("filing-step", args=[draft.pk, "vehicle"])).content.decode()
    assert f'href="{reverse("filing-procedure", args=["duplicate"])}"' in first
    passes(client, draft, "vehicle", title_proof(title), "holder")
    second = client.get(reverse("filing-step", args=[draft.pk, "holder"])).content.decode()
    assert f'href="{reverse("filing-step", args=[draft.pk, "vehicle"])}"' in second
    assert "Étape précédente" in second
