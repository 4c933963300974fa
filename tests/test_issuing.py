"""Issuing: a decision creates its documents (serial, plate, frozen data), the pdf queue renders and
stores them once, the certificate supersedes the earlier titles, the dossier ends `issued` and the
holder is told by e-mail."""

import hashlib
import re
from datetime import timedelta
from io import BytesIO, StringIO
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from cert_workflow import sweeps
from cert_workflow.documents import issuing, render_queue
from cert_workflow.documents.data import one_month_after
from cert_workflow.management.commands.verify_document import EXIT_SUPERSEDED
from cert_workflow.models import ComplementRequest, DocumentKind, IssuedDocument, SweepAction
from cert_workflow.review import decisions
from dossiers import services, transitions
from dossiers.models import Dossier, Procedure, State, Vehicle
from dossiers.plates import validate_plate
from tests import factories
from tests.factories import decide, in_review, stored_files

pytestmark = pytest.mark.django_db

SERIAL = re.compile(r"20\d\d[A-Z]{2}\d{5}")


@pytest.fixture(autouse=True)
def _issuing(issuing):
    """Every test here issues documents: see the `issuing` fixture in conftest.py."""


# --- helpers -----------------------------------------------------------------------------------


def document(dossier, kind) -> IssuedDocument:
    return IssuedDocument.objects.get(dossier=dossier, kind=kind)


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "number", "serial"),
    [
        (2026, 0, "2026AA00000"),
        (2026, 12345, "2026AA12345"),
        (2026, 100_000, "2026AB00000"),
        (2026, 2_700_001, "2026BB00001"),
        (2027, 67_599_999, "2027ZZ99999"),
    ],
)
def test_serial_is_the_year_two_letters_and_five_digits(year, number, serial):
    assert issuing.serial_format(year=year, number=number) == serial


def test_serial_past_the_last_of_the_year_is_refused():
    with pytest.raises(ValueError):
        issuing.serial_format(year=2026, number=67_600_000)


def test_serials_are_never_handed_out_twice():
    first = issuing.serials_allocate(count=3, year=2026)
    second = issuing.serials_allocate(count=2, year=2026)
    assert len(set(first + second)) == 5
    assert all(SERIAL.fullmatch(s) for s in first + second)


def test_approval_issues_the_certificate_and_a_cpi_with_a_new_plate_and_the_dossier_ends_issued(
    django_capture_on_commit_callbacks,
):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    owner = factories.citizen(email="camille.martin@example.fr")
    dossier = in_review(cert=cert, agent=agent, owner=owner)
    assert dossier.vehicle.plate is None

    dossier = decide(django_capture_on_commit_callbacks, dossier, agent)

    dossier.vehicle.refresh_from_db()
    plate = dossier.vehicle.plate
    assert validate_plate(plate) == plate
    certificate, cpi = document(dossier, DocumentKind.CERTIFICATE), document(dossier, DocumentKind.CPI)
    for doc in (certificate, cpi):
        assert SERIAL.fullmatch(doc.serial)
        assert doc.data["A"] == plate and doc.data["serial"] == doc.serial
        assert doc.rendered_at is not None and doc.render_attempts == 1
        content = default_storage.open(doc.file.name).read()
        assert content.startswith(b"%PDF-")
        assert (doc.size, doc.sha256) == (len(content), hashlib.sha256(content).hexdigest())
        assert stored_files(doc.serial) == [f"{doc.serial}.pdf"]
    assert cpi.valid_until == one_month_after(cpi.issued_at)
    assert certificate.valid_until is None
    # The final certificate replaces the provisional one.
    assert (cpi.superseded_by, certificate.superseded_by) == (certificate, None)
    assert cpi.superseded_at is not None
    assert dossier.state == State.ISSUED and dossier.issued_at is not None
    event = dossier.events.filter(to_state=State.ISSUED).get()
    assert (event.actor_role, event.data["serial"]) == ("system", certificate.serial)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["camille.martin@example.fr"]
    assert message.subject == f"Votre certificat d'immatriculation {plate} est disponible"
    assert dossier.reference in message.body and f"immatriculé {plate}, est produit" in message.body
    # The same text as HTML, for the clients that show it.
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and '<html lang="fr">' in html
    assert f"<strong>{dossier.reference}</strong>" in html and f"<strong>{plate}</strong>" in html


def test_a_mail_server_outage_does_not_undo_the_issue(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = in_review(cert=cert, agent=agent, owner=factories.citizen(email="camille.martin@example.fr"))

    dossier = decide(django_capture_on_commit_callbacks, dossier, agent)

    assert dossier.state == State.ISSUED and dossier.issued_at is not None
    assert document(dossier, DocumentKind.CERTIFICATE).rendered_at is not None
    assert dossier.events.filter(to_state=State.ISSUED).count() == 1
    assert mail.outbox == []


def test_rerun_of_issue_and_render_creates_nothing_new(django_capture_on_commit_callbacks):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = decide(django_capture_on_commit_callbacks, in_review(cert=cert, agent=agent), agent)
    before = list(IssuedDocument.objects.order_by("pk").values_list("pk", "serial", "sha256", "rendered_at"))
    plate = Dossier.objects.get(pk=dossier.pk).vehicle.plate

    with django_capture_on_commit_callbacks(execute=True):
        again = issuing.documents_issue(dossier_ids=[dossier.pk], kind=DocumentKind.CERTIFICATE)
        issuing.approved_documents_issue(dossier_ids=[dossier.pk])
        rendered = render_queue.documents_render(document_ids=[pk for pk, *_ in before])

    assert again == [document(dossier, DocumentKind.CERTIFICATE).pk]
    assert rendered == []
    after = list(IssuedDocument.objects.order_by("pk").values_list("pk", "serial", "sha256", "rendered_at"))
    assert after == before
    assert Dossier.objects.get(pk=dossier.pk).vehicle.plate == plate
    assert all(stored_files(serial) == [f"{serial}.pdf"] for _pk, serial, *_ in before)
    assert dossier.events.filter(to_state=State.ISSUED).count() == 1
    assert len(mail.outbox) == 1


def test_render_after_a_crash_replaces_the_partial_file_instead_of_adding_one(
    django_capture_on_commit_callbacks,
):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = in_review(cert=cert, agent=agent)
    # The decision commits, its rendering task is lost (the callbacks never run).
    with django_capture_on_commit_callbacks(execute=False):
        decisions.dossier_decide(
            dossier=dossier, agent=agent, decision="approve", **factories.APPROVAL_CONFIRMATION
        )
    issuing.approved_documents_issue(dossier_ids=[dossier.pk])
    certificate = document(dossier, DocumentKind.CERTIFICATE)
    assert certificate.rendered_at is None
    # A crashed attempt left half a file under the document's name.
    default_storage.save(f"issued/{certificate.serial}.pdf", ContentFile(b"%PDF-1.7 trunc"))

    render_queue.documents_render(document_ids=[certificate.pk])

    certificate.refresh_from_db()
    assert stored_files(certificate.serial) == [f"{certificate.serial}.pdf"]
    content = default_storage.open(certificate.file.name).read()
    assert hashlib.sha256(content).hexdigest() == certificate.sha256 and len(content) > 1000


def test_dealer_first_registration_gets_its_plate_and_cpi_at_submission(django_capture_on_commit_callbacks):
    factories.CertFactory(departments=["25"])
    dealer = factories.dealer()
    dossier = factories.draft(filed_by=dealer)

    with django_capture_on_commit_callbacks(execute=True):
        services.dossier_submit(dossier=dossier, actor=dealer)

    dossier.refresh_from_db()
    cpi = document(dossier, DocumentKind.CPI)
    assert cpi.rendered_at is not None
    assert cpi.data["A"] == dossier.vehicle.plate and validate_plate(dossier.vehicle.plate)
    assert cpi.valid_until == one_month_after(cpi.issued_at)
    assert document(dossier, DocumentKind.RECEIPT).rendered_at is not None


def test_citizen_submission_gets_a_receipt_and_no_plate(django_capture_on_commit_callbacks):
    factories.CertFactory(departments=["25"])
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner)

    with django_capture_on_commit_callbacks(execute=True):
        services.dossier_submit(dossier=dossier, actor=owner)

    dossier.refresh_from_db()
    receipt = document(dossier, DocumentKind.RECEIPT)
    assert receipt.rendered_at is not None and receipt.data["reference"] == dossier.reference
    if dossier.state in (State.QUEUED, State.SUBMITTED):  # not approved straight through
        assert dossier.vehicle.plate is None
        assert not IssuedDocument.objects.filter(dossier=dossier, kind=DocumentKind.CPI).exists()


def test_duplicate_supersedes_the_vehicles_previous_certificate(django_capture_on_commit_callbacks):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    owner = factories.citizen()
    first = decide(django_capture_on_commit_callbacks, in_review(cert=cert, agent=agent, owner=owner), agent)
    vehicle = first.vehicle
    vehicle.refresh_from_db()
    old = document(first, DocumentKind.CERTIFICATE)

    duplicate = in_review(
        cert=cert,
        agent=agent,
        owner=owner,
        procedure=Procedure.DUPLICATE,
        vehicle=factories.vehicle_data(vin=vehicle.vin, plate=vehicle.plate),
    )
    assert duplicate.vehicle_id == vehicle.pk
    duplicate = decide(django_capture_on_commit_callbacks, duplicate, agent)

    new = document(duplicate, DocumentKind.CERTIFICATE)
    old.refresh_from_db()
    assert (old.superseded_by, new.superseded_by) == (new, None)
    assert new.data["A"] == vehicle.plate and new.serial != old.serial
    assert duplicate.state == State.ISSUED


def _verification_link(pdf: bytes) -> str:
    """The URL of the link annotation over the QR code of a rendered certificate."""
    annotations = [a.get_object() for a in PdfReader(BytesIO(pdf)).pages[0]["/Annots"]]
    return str(annotations[0]["/A"]["/URI"])


def _verify_document(pdf: bytes, tmp_path) -> tuple[int, str]:
    """`manage.py verify_document` on the PDF: its exit status and what it printed."""
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    out = StringIO()
    try:
        call_command("verify_document", str(path), stdout=out, stderr=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


NEW_HOLDER = factories.holder_data(
    last_name="Lefèvre", first_names="Jeanne", address_line="3 place du Marché", postcode="39100", city="Dole"
)


@pytest.mark.parametrize(
    ("procedure", "new_holder"),
    [(Procedure.DUPLICATE, None), (Procedure.CHANGE_OF_OWNER, NEW_HOLDER)],
    ids=["duplicate", "new holder"],
)
def test_certificate_replaced_by_a_newer_one_says_remplace_on_its_page_and_to_verify_document(
    django_capture_on_commit_callbacks, client, tmp_path, procedure, new_holder
):
    cache.clear()  # the verification page's throttle counts in the cache
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    first = decide(django_capture_on_commit_callbacks, in_review(cert=cert, agent=agent), agent)
    vehicle = Vehicle.objects.get(pk=first.vehicle_id)
    old = document(first, DocumentKind.CERTIFICATE)
    old_pdf = default_storage.open(old.file.name).read()
    old_page = urlsplit(_verification_link(old_pdf)).path
    assert "Document authentique" in client.get(old_page).content.decode()

    # The same vehicle's new card: a duplicate for its holder, or a new holder's after a sale.
    newer = in_review(
        cert=cert,
        agent=agent,
        owner=factories.citizen() if new_holder else first.applicant,
        procedure=procedure,
        vehicle=factories.vehicle_data(vin=vehicle.vin, plate=vehicle.plate),
        holder=new_holder,
    )
    newer = decide(django_capture_on_commit_callbacks, newer, agent)
    new = document(newer, DocumentKind.CERTIFICATE)
    new_pdf = default_storage.open(new.file.name).read()

    assert newer.state == State.ISSUED and newer.vehicle_id == vehicle.pk
    if new_holder:
        assert new.data["C.1"] == "LEFÈVRE Jeanne" and old.data["C.1"] == "MARTIN Camille Louise"
    page = client.get(old_page).content.decode()
    assert "Document remplacé" in page and "Document authentique" not in page
    assert vehicle.plate in page
    new_page = client.get(urlsplit(_verification_link(new_pdf)).path).content.decode()
    assert "Document authentique" in new_page and "en cours de validité" in new_page

    code, output = _verify_document(old_pdf, tmp_path)
    assert code == EXIT_SUPERSEDED, output
    assert "Verdict : remplacé" in output
    code, output = _verify_document(new_pdf, tmp_path)
    assert code == 0, output
    assert "Verdict : authentique, en cours de validité." in output


def test_rejection_and_complement_request_each_get_their_letter(django_capture_on_commit_callbacks):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    rejected = decide(
        django_capture_on_commit_callbacks,
        in_review(cert=cert, agent=agent),
        agent,
        "reject",
        reason="fees_not_paid",
        message="Paiement refusé par la banque.",
    )
    waiting = decide(
        django_capture_on_commit_callbacks,
        in_review(cert=cert, agent=agent),
        agent,
        "request_complement",
        items=["proof_of_address"],
    )

    letter = document(rejected, DocumentKind.REJECTION_LETTER)
    assert letter.rendered_at is not None
    assert (letter.data["reason_code"], letter.data["message"]) == (
        "fees_not_paid",
        "Paiement refusé par la banque.",
    )
    request = ComplementRequest.objects.get(dossier=waiting)
    complement = document(waiting, DocumentKind.COMPLEMENT_LETTER)
    assert complement.complement_request == request and complement.rendered_at is not None
    assert complement.data["items"] == [{"code": "proof_of_address", "label": "Justificatif de domicile"}]
    assert rejected.state == State.REJECTED and waiting.state == State.AWAITING_COMPLEMENT
    assert not IssuedDocument.objects.filter(kind__in=[DocumentKind.CERTIFICATE, DocumentKind.CPI]).exists()


def test_sale_declaration_is_closed_issued_without_a_certificate(django_capture_on_commit_callbacks):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = in_review(
        cert=cert,
        agent=agent,
        procedure=Procedure.SALE_DECLARATION,
        vehicle=factories.vehicle_data(plate="GA-456-BC", first_registration_date="2019-05-02"),
    )

    dossier = decide(django_capture_on_commit_callbacks, dossier, agent)

    assert dossier.state == State.ISSUED
    assert not IssuedDocument.objects.filter(dossier=dossier).exists()


def test_sweep_issues_and_renders_what_a_lost_approval_hook_left_undone(django_capture_on_commit_callbacks):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = in_review(cert=cert, agent=agent)
    with django_capture_on_commit_callbacks(execute=False):  # the hook never ran
        decisions.dossier_decide(
            dossier=dossier, agent=agent, decision="approve", **factories.APPROVAL_CONFIRMATION
        )

    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.sweep_run(now=timezone.now() + timedelta(minutes=31))

    assert result["renders_overdue"] == 1
    dossier.refresh_from_db()
    assert dossier.state == State.ISSUED
    assert document(dossier, DocumentKind.CERTIFICATE).rendered_at is not None
    assert list(SweepAction.objects.filter(dossier=dossier).values_list("kind", flat=True)) == [
        "render_overdue"
    ]


def test_sweep_requeues_a_document_left_pending_once_per_period(django_capture_on_commit_callbacks):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = in_review(cert=cert, agent=agent)
    with django_capture_on_commit_callbacks(execute=False):  # the letter's rendering task is lost
        decisions.dossier_decide(dossier=dossier, agent=agent, decision="reject", reason="fees_not_paid")
        issuing.rejected_documents_issue(dossier_ids=[dossier.pk])
    letter = document(dossier, DocumentKind.REJECTION_LETTER)
    now = timezone.now() + timedelta(minutes=6)

    with django_capture_on_commit_callbacks(execute=False) as lost:
        counts = [sweeps.sweep_run(now=now + timedelta(minutes=m))["renders_overdue"] for m in (0, 1)]
    with django_capture_on_commit_callbacks(execute=True):
        later = sweeps.sweep_run(now=now + timedelta(minutes=6))["renders_overdue"]

    assert (counts, len(lost), later) == ([1, 0], 1, 1)
    letter.refresh_from_db()
    assert letter.rendered_at is not None
    actions = SweepAction.objects.filter(dossier=dossier, kind=sweeps.RENDER_REQUEUED)
    assert [a.data["document"] for a in actions] == [letter.pk, letter.pk]


def test_issuing_reads_a_batch_in_the_same_number_of_queries_whatever_its_size():
    cert = factories.CertFactory()

    def approved(count):
        ids = []
        for _ in range(count):
            agent = factories.agent(cert=cert)
            dossier = in_review(cert=cert, agent=agent)
            services.title_mentions_set(dossier=dossier, mentions=["ATTELAGE AUTORISÉ"])
            transitions.dossier_transition(dossier=dossier, to=State.APPROVED, actor=agent)
            ids.append(dossier.pk)
        return ids

    counts = []
    for ids in (approved(2), approved(6)):
        with CaptureQueriesContext(connection) as queries:
            issued = issuing.documents_issue(dossier_ids=ids, kind=DocumentKind.CERTIFICATE)
        assert len(issued) == len(ids)
        counts.append(len(queries))
    # Set-based: the mentions (Z.1-Z.4) of every dossier come with the batch, not one query each.
    assert counts[0] == counts[1]
    data = IssuedDocument.objects.filter(dossier_id=ids[0], kind=DocumentKind.CERTIFICATE).get().data
    assert data["Z.1"] == "ATTELAGE AUTORISÉ"
