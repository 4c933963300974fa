"""Factories for tests: real rows through the ORM, and valid vehicle/holder payloads."""

import html
import io
import itertools
import os
from datetime import datetime, timedelta

import factory
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from cert_workflow.models import (
    Assessment,
    CheckResult,
    ComplementItem,
    ComplementRequest,
    IssuedDocument,
    Risk,
    RoutingDecision,
)
from cert_workflow.review import claim, decisions
from dossiers import cleaning, register, services, transitions
from dossiers.cleaning import VEHICLE_PROCEDURES
from dossiers.documents import document_attach
from dossiers.models import (
    HOLDER_FIELDS,
    VEHICLE_FIELDS,
    Cert,
    Document,
    Dossier,
    DossierEvent,
    Holder,
    Procedure,
    RegisteredTitle,
    Sale,
    State,
    Vehicle,
)
from dossiers.plates import plate_from_ordinal
from dossiers.services import dossier_create
from payments import services as payment_services
from portal import tokens
from portal.models import Organisation, Role, User

PASSWORD = "mot-de-passe-de-test-2026"


class CertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cert
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n:02d}")
    name = factory.LazyAttribute(lambda o: f"CERT {o.code}")
    city = "Testville"
    departments = factory.LazyFunction(list)
    procedures = factory.LazyFunction(lambda: list(Procedure.values))
    daily_capacity = 100


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Garage {n}")
    siren = "732829320"
    siret = factory.Sequence(lambda n: _siret_for("732829320", n))
    habilitation_number = factory.Sequence(lambda n: f"HAB-{n:05d}")
    tax_agrement = True


def _siret_for(siren: str, n: int) -> str:
    """The n-th Luhn-valid SIRET of `siren`."""
    from stdnum.fr import siret

    found = -1
    for nic in range(1, 100000):
        candidate = f"{siren}{nic:05d}"
        if siret.is_valid(candidate):
            found += 1
            if found == n:
                return candidate
    raise ValueError("no more SIRETs")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.fr")
    role = Role.CITIZEN
    first_name = "Camille"
    last_name = "Martin"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy's signature
        if create:
            obj.save()


def citizen(**kwargs) -> User:
    return UserFactory(role=Role.CITIZEN, **kwargs)


def dealer(organisation: Organisation | None = None, **kwargs) -> User:
    return UserFactory(role=Role.DEALER, organisation=organisation or OrganisationFactory(), **kwargs)


def agent(cert: Cert | None = None, **kwargs) -> User:
    return UserFactory(role=Role.AGENT, cert=cert or CertFactory(), **kwargs)


def supervisor(**kwargs) -> User:
    return UserFactory(role=Role.SUPERVISOR, **kwargs)


def token_for(user: User, *, name: str = "Tests") -> str:
    """The secret of a new personal token of `user` (only its digest is stored)."""
    return tokens.api_token_create(user=user, name=name)[1]


def api_client(user: User | None = None, *, token: str | None = None) -> APIClient:
    """An API client authenticated as `user` (or with `token`); anonymous with neither."""
    client = APIClient()
    if user is not None or token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token or token_for(user)}")
    return client


def text_of(response) -> str:
    """The page as a reader sees its text: entities decoded."""
    return html.unescape(response.content.decode())


def organisation_token(user: User) -> str:
    """The secret of a new token of the dealer's organisation, acting as `user`."""
    return tokens.organisation_token_create(organisation=user.organisation, created_by=user, name="DMS")[1]


_vin_counter = iter(range(1, 10**9))


def new_vin() -> str:
    return f"VF1RFB00{next(_vin_counter):09d}"


def _known(data: dict, fields: tuple[str, ...], what: str) -> dict:
    # The sample values name model fields only: a renamed or removed field fails here, not silently.
    unknown = set(data) - set(fields)
    if unknown:
        raise TypeError(f"not {what} fields: {sorted(unknown)}")
    return data


def vehicle_data(**overrides) -> dict:
    data = {
        "vin": new_vin(),
        "make": "RENAULT",
        "type_variant_version": "RFB0A2",
        "cnit": "M10RENVP000A123",
        "commercial_name": "MEGANE",
        "max_mass_kg": 1850,
        "ptac_kg": 1850,
        "mass_kg": 1350,
        "empty_mass_kg": 1280,
        "eu_category": "M1",
        "genre": "VP",
        "eu_body": "AB",
        "body": "CI",
        "approval_number": "e2*2007/46*0534*12",
        "displacement_cm3": 1332,
        "power_kw": "103",
        "energy": "ES",
        "fiscal_power": 7,
        "seats": 5,
        "co2_g_km": 128,
        "euro_class": "EURO6",
    }
    data.update(overrides)
    return _known(data, VEHICLE_FIELDS, "vehicle")


def holder_data(**overrides) -> dict:
    data = {
        "holder_kind": "person",
        "last_name": "Martin",
        "first_names": "Camille Louise",
        "birth_date": "1985-04-12",
        "address_line": "12 rue des Lilas",
        "postcode": "25000",
        "city": "Besançon",
    }
    data.update(overrides)
    return _known(data, HOLDER_FIELDS, "holder")


_mandates = itertools.count(1)


def registration_facts(**overrides) -> dict:
    """What a dealer's first registration says of its sale besides vehicle and holder: the invoice
    date and the holder's mandate (both required of a dealer), its own reference (optional)."""
    n = next(_mandates)
    data = {"invoice_date": "2026-11-02", "mandate_reference": f"MAND-{n:05d}", "external_ref": f"VO-{n:05d}"}
    data.update(overrides)
    return data


def batch_row(**overrides) -> dict:
    """One vehicle of a dealer's JSON batch: vehicle, holder and the registration facts."""
    row = {
        "vehicle": vehicle_data(),
        "holder": holder_data(),
        **registration_facts(invoice_date=(timezone.localdate() - timedelta(days=2)).isoformat()),
    }
    row.update(overrides)
    return row


BATCH_CSV_HEADER = (
    "VIN;Marque;Dénomination commerciale;GENRE NATIONAL;energie;Puissance administrative;"
    "Puissance nette max;CO2;Masse en service;PTAC;Nom;Prénoms;Date de naissance;Adresse;"
    "Code postal;Commune;Date de facture;Référence du mandat;Référence interne"
)


def batch_stored() -> tuple[int, ...]:
    """What a refused batch must not have written: the counts of batches, their rows, and the
    vehicles, holders, dossiers and audit events rows become."""
    from batches.models import Batch, BatchRow

    return (
        Batch.objects.count(),
        BatchRow.objects.count(),
        Vehicle.objects.count(),
        Holder.objects.count(),
        Dossier.objects.count(),
        DossierEvent.objects.count(),
    )


def batch_csv_french(*, co2_missing_on_second: bool = True) -> bytes:
    """Two vehicles, French headers, BOM, `;`, decimal comma, French dates; the second one without
    its CO2 (refused) unless told otherwise."""
    second_co2 = "" if co2_missing_on_second else "121"
    lines = [
        BATCH_CSV_HEADER,
        f"{new_vin()};RENAULT;CLIO;VP;ES;5;67,5;118;1 180;1 650;Durand;Léa;03/02/1990;"
        "4 rue Oberkampf;75011;Paris;01/12/2026;MDT-77;VO-1",
        f"{new_vin()};PEUGEOT;208;VP;ES;5;74,0;{second_co2};1 160;1 600;Petit;Marc;17/07/1975;"
        "8 place Bellecour;69002;Lyon;01/12/2026;MDT-78;VO-2",
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


_formules = itertools.count(1)


def formule_number_new() -> str:
    # Titles of the register file are older than the portal: they never meet a serial it issues.
    return f"2019AA{next(_formules):05d}"


def registered(*, vehicle: dict | None = None, holder: dict | None = None) -> RegisteredTitle:
    """A vehicle of the register with its current title, as register_load writes it."""
    vehicle = dict(vehicle or vehicle_data())
    holder = holder or holder_data()
    existing = Vehicle.objects.filter(vin=vehicle["vin"]).first()
    if existing is not None:
        # A vehicle the portal already knows (a test's earlier dossier): its current title, or one now.
        return existing.titles.filter(current=True).first() or register.title_record(
            vehicle=existing,
            holder=Holder(**cleaning.holder_clean(holder)),
            formule_number=formule_number_new(),
        )
    vehicle.setdefault("plate", plate_from_ordinal(next(_plates)))
    vehicle["plate"] = vehicle["plate"] or plate_from_ordinal(next(_plates))
    title, _created = register.register_entry_load(
        vehicle=vehicle, holder=holder, formule_number=formule_number_new()
    )
    return title


def proof(title: RegisteredTitle) -> dict:
    """The proof of title a holder types from their certificate."""
    return {"plate": title.vehicle.plate, "formule_number": title.formule_number}


def sale_declared(
    *, title: RegisteredTitle, code: str | None = None, sold_at: str = "2026-11-20T10:00"
) -> Sale:
    """The holder's declaration of sale of a registered vehicle, filed by a citizen who is its holder.

    `code` replaces the generated code de cession (test data: a test names the code the buyer types)."""
    seller = citizen()
    holder = {
        name: getattr(title.holder, name)
        for name in ("last_name", "first_names", "address_line", "postcode", "city")
    }
    holder["birth_date"] = title.holder.birth_date.isoformat()
    dossier = dossier_create(
        procedure=Procedure.SALE_DECLARATION,
        vehicle=None,
        holder=holder,
        filed_by=seller,
        facts={"title": proof(title), "sale": {"sold_at": sold_at}},
    )
    # A code works once its declaration is submitted (register.sale_for_code): a draft declares nothing.
    services.dossier_submit(dossier=dossier, actor=seller)
    sale = Sale.objects.get(pk=dossier.sale.pk)
    if code is not None:
        Sale.objects.filter(pk=sale.pk).update(code_de_cession=code)
        sale.refresh_from_db()
    return sale


def draft(
    *,
    filed_by: User,
    procedure: str = Procedure.FIRST_REGISTRATION,
    vehicle: dict | None = None,
    holder: dict | None = None,
    facts: dict | None = None,
    paid: bool = True,
    **kwargs,
):
    """A draft through dossier_create. A procedure on a registered vehicle first puts `vehicle` in
    the register with `holder` as its holder (the seller for a change of owner) and proves the title.
    Its fees are paid through the fake provider (fees_pay) unless `paid` is False."""
    holder = holder or holder_data()
    if procedure == Procedure.FIRST_REGISTRATION and filed_by.role == Role.DEALER:
        facts = {**registration_facts(), **(facts or {})}
    if procedure in VEHICLE_PROCEDURES or procedure not in Procedure.values:
        dossier = dossier_create(
            procedure=procedure,
            vehicle=vehicle or vehicle_data(),
            holder=holder,
            filed_by=filed_by,
            facts=facts,
            **kwargs,
        )
        return fees_pay(dossier) if paid else dossier
    facts = dict(facts or {})
    if procedure == Procedure.CHANGE_OF_OWNER:
        title = registered(vehicle=vehicle, holder=holder_data(last_name="Vendeur", first_names="Paul"))
        code = (facts.get("sale") or {}).get("code_de_cession")
        if code:
            sale_declared(
                title=title,
                code=cleaning.sale_clean({"sold_at": "2026-11-20T10:00", "code_de_cession": code})[
                    "code_de_cession"
                ],
            )
            facts.setdefault("title", {"plate": title.vehicle.plate})
        else:
            facts.setdefault("title", proof(title))
    elif "title" not in facts:  # a test that names the title proves it itself
        facts["title"] = proof(registered(vehicle=vehicle, holder=holder))
    dossier = dossier_create(
        procedure=procedure, vehicle=None, holder=holder, filed_by=filed_by, facts=facts, **kwargs
    )
    return fees_pay(dossier) if paid else dossier


# --- What a refused request must leave as it was ------------------------------------------------


def snapshot(*dossiers: Dossier) -> dict:
    """Everything a request could move, to compare before and after a refusal: each column of the
    dossiers' rows (state, centre, claim, lease, timestamps), their audit events, uploaded and
    issued documents, complement requests and their items, check results and routing decisions, and the files in
    storage. Without a dossier: the same over every dossier (a refused claim moves none)."""
    rows = Dossier.objects.filter(pk__in=[d.pk for d in dossiers]) if dossiers else Dossier.objects.all()
    related = {
        "events": DossierEvent,
        "documents": Document,
        "issued_documents": IssuedDocument,
        "complement_requests": ComplementRequest,
        "check_results": CheckResult,
        "routing_decisions": RoutingDecision,
    }
    return {
        "dossiers": list(rows.order_by("pk").values()),
        **{name: model.objects.filter(dossier__in=rows).count() for name, model in related.items()},
        "complement_items": ComplementItem.objects.filter(request__dossier__in=rows).count(),
        "files": sum(len(files) for _, _, files in os.walk(settings.MEDIA_ROOT)),
    }


# --- Dossiers in a given state, through the services --------------------------------------------


def pdf(text: str = "Piece justificative") -> bytes:
    """A genuine one-page PDF (cross-reference table included) that passes the upload checks;
    a different `text` gives a different file."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def image(fmt: str = "PNG", size: tuple[int, int] = (4, 3), colour=(128, 64, 32)) -> bytes:
    """A genuine small image (PNG or JPEG) made by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


PDF = pdf()
_plates = itertools.count(50_000)

# What a complete dossier of each procedure carries (written out, not taken from the code under test).
COMPLETE = {
    Procedure.FIRST_REGISTRATION: ["identity", "proof_of_address", "coc", "insurance", "invoice"],
    Procedure.CHANGE_OF_OWNER: [
        "identity",
        "proof_of_address",
        "previous_certificate",
        "sale_certificate",
        "insurance",
    ],
    Procedure.SALE_DECLARATION: ["identity"],
    Procedure.CHANGE_OF_ADDRESS: ["identity", "proof_of_address"],
    Procedure.DUPLICATE: ["identity", "proof_of_address"],
    Procedure.CORRECTION: ["identity", "previous_certificate"],
    Procedure.IMPORT: [
        "identity",
        "proof_of_address",
        "foreign_title",
        "customs_clearance",
        "coc",
        "invoice",
    ],
}


def documents_attach(*, dossier: Dossier, owner, kinds) -> None:
    for kind in kinds:
        uploaded = SimpleUploadedFile(f"{kind}.pdf", pdf(kind), content_type="application/pdf")
        document_attach(dossier=dossier, kind=kind, uploaded=uploaded, actor=owner)


def submitted(
    *,
    owner=None,
    procedure: str = Procedure.CHANGE_OF_ADDRESS,
    documents: list[str] | None = None,
    vehicle: dict | None = None,
    facts: dict | None = None,
) -> Dossier:
    """A submitted dossier, by default complete and low-risk (a citizen's change of address)."""
    owner = owner or citizen()
    vehicle = vehicle or vehicle_data()
    if procedure not in services.FIRST_IN_FRANCE:
        vehicle.setdefault("plate", plate_from_ordinal(next(_plates)))
    dossier = draft(filed_by=owner, procedure=procedure, vehicle=vehicle, facts=facts)
    if documents is None:
        documents = COMPLETE[procedure] + (["mandate"] if dossier.organisation_id else [])
    documents_attach(dossier=dossier, owner=owner, kinds=documents)
    return services.dossier_submit(dossier=dossier, actor=owner)


def in_review(*, cert, agent, owner=None, procedure=Procedure.FIRST_REGISTRATION, vehicle=None, holder=None):
    """A dossier of `owner` claimed by `agent` in `cert` (its submission's follow-ups not run)."""
    owner = owner or citizen()
    dossier = draft(filed_by=owner, procedure=procedure, vehicle=vehicle, holder=holder)
    dossier = services.dossier_submit(dossier=dossier, actor=owner)
    dossier = transitions.dossier_transition(
        dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert}
    )
    return transitions.dossier_transition(
        dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )


APPROVAL_CONFIRMATION = {
    "confirm_checks": True,
    "message": "Pièces vérifiées par l'agent sur les originaux.",
}


def decide(capture, dossier, agent, decision="approve", **kwargs):
    """The agent's decision, with everything it starts after commit (issue, render, mail) run.

    An approval confirms the checks (in_review's dossiers were never checked): the tests that use
    this are about what a decision starts, tests/test_decision_confirmation.py about the confirmation."""
    if decision == "approve":
        kwargs = {**APPROVAL_CONFIRMATION, **kwargs}
    with capture(execute=True):
        decisions.dossier_decide(dossier=dossier, agent=agent, decision=decision, **kwargs)
    dossier.refresh_from_db()
    return dossier


def stored_files(serial: str) -> list[str]:
    """The files in storage whose name starts with the serial (a duplicate would show here)."""
    if not default_storage.exists("issued"):
        return []
    return sorted(name for name in default_storage.listdir("issued")[1] if name.startswith(serial))


# --- Test data, fast: bulk rows written directly in a state (not a workflow path) ----------------

_serial = itertools.count(1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_fixed_timezone(60))


def centre(code: str, *, capacity: int = 10, departments=(), procedures=None, active: bool = True) -> Cert:
    return Cert.objects.create(
        code=code,
        name=f"CERT {code}",
        city="Testville",
        daily_capacity=capacity,
        departments=list(departments),
        procedures=list(procedures or Procedure.values),
        active=active,
    )


def user(role: str = Role.CITIZEN, **fields) -> User:
    return User.objects.create(email=f"u{next(_serial)}@example.fr", role=role, **fields)


def agents(n: int, *, cert: Cert) -> list[User]:
    return [user(Role.AGENT, cert=cert) for _ in range(n)]


def bulk_dossiers(
    n: int,
    *,
    department: str = "25",
    state: str = State.SUBMITTED,
    cert: Cert | None = None,
    procedure: str = Procedure.FIRST_REGISTRATION,
    first_queued_at: datetime = T0,
    step: timedelta = timedelta(minutes=1),
    claimed_by: list[User] | None = None,
    owner: User | None = None,
) -> list[Dossier]:
    """`n` dossiers written directly in `state` (test data, not a workflow path), the oldest first.

    In review, dossier i is claimed by claimed_by[i] (an agent reviews one dossier at a time)."""
    owner = owner or user()
    serials = [next(_serial) for _ in range(n)]
    vehicles = Vehicle.objects.bulk_create(
        Vehicle(
            vin=f"VF1BULK{s:010d}",
            make="RENAULT",
            commercial_name="CLIO",
            genre="VP",
            energy="ES",
            fiscal_power=5,
        )
        for s in serials
    )
    holders = Holder.objects.bulk_create(
        Holder(
            holder_kind="person",
            last_name="Martin",
            address_line="1 rue Haute",
            postcode=f"{department[:2]}000",
            city="Ville",
            department=department,
        )
        for _ in serials
    )
    queued = state in (State.QUEUED, State.IN_REVIEW)
    return Dossier.objects.bulk_create(
        Dossier(
            reference=f"CG-RT-{s:010d}",
            procedure=procedure,
            state=state,
            applicant=owner,
            filed_by=owner,
            vehicle=vehicle,
            holder=holder,
            cert=cert,
            claimed_by=claimed_by[i] if claimed_by and state == State.IN_REVIEW else None,
            submitted_at=first_queued_at + i * step,
            queued_at=first_queued_at + i * step if queued else None,
        )
        for i, (s, vehicle, holder) in enumerate(zip(serials, vehicles, holders, strict=True))
    )


def ids(dossiers: list[Dossier]) -> list[int]:
    return [d.pk for d in dossiers]


def queued_dossiers(
    *,
    cert,
    owner,
    count: int = 1,
    priority: int = 0,
    risk: str | None = None,
    since=None,
    step: timedelta = timedelta(seconds=1),
    last_names: list[str] | None = None,
    checked: bool = True,
) -> list[Dossier]:
    """`count` dossiers waiting in `cert`'s queue, oldest first, written with three bulk inserts.

    Checked by default, as the workflow queues them: an assessment of `risk` (medium when not
    given; the claim hands out only assessed dossiers). `checked=False`: queued without any check."""
    since = since or timezone.now() - timedelta(days=1)
    serials = [next(_serial) for _ in range(count)]
    vehicles = Vehicle.objects.bulk_create(
        Vehicle(
            vin=f"VF7QA{n:06d}W{n:05d}",
            plate=f"Q{chr(65 + n % 23)}-{n % 1000:03d}-{chr(65 + n // 1000 % 23)}A",
            make="PEUGEOT",
            commercial_name="208",
            genre="VP",
            energy="ES",
            fiscal_power=5,
        )
        for n in serials
    )
    holders = Holder.objects.bulk_create(
        Holder(
            holder_kind="person",
            last_name=(last_names or [])[i] if last_names else f"Titulaire{n}",
            first_names="Alex",
            address_line="3 place de la Mairie",
            postcode="25000",
            city="Besançon",
            department="25",
        )
        for i, n in enumerate(serials)
    )
    dossiers = Dossier.objects.bulk_create(
        Dossier(
            reference=f"CG-2099-{n:07d}",
            procedure=Procedure.CHANGE_OF_OWNER,
            state=State.QUEUED,
            applicant=owner,
            filed_by=owner,
            vehicle=vehicle,
            holder=holder,
            cert=cert,
            priority=priority,
            submitted_at=since + i * step,
            queued_at=since + i * step,
            due_at=since + i * step + timedelta(days=5),
        )
        for i, (n, vehicle, holder) in enumerate(zip(serials, vehicles, holders, strict=True))
    )
    if checked:
        Assessment.objects.bulk_create(
            Assessment(dossier=dossier, risk=risk or Risk.MEDIUM, route=Assessment.Route.REVIEW)
            for dossier in dossiers
        )
    return dossiers


# --- The create API as the title tests call it ---------------------------------------------------


def register_counts() -> dict:
    """Rows of every table a create request could write, with snapshot(): equal before and after
    a refusal."""
    return {
        "models": {
            model.__name__: model.objects.count()
            for model in (Dossier, Vehicle, Holder, RegisteredTitle, Sale, DossierEvent, IssuedDocument)
        },
        "snapshot": snapshot(),
    }


def errors_of(response) -> dict[str, str]:
    """{field: rule} of an API error response."""
    return {error["field"]: error["rule"] for error in response.json()["errors"]}


def dossier_post(user, body):
    return api_client(user).post("/api/v1/dossiers/", body, format="json")


# --- Following a dossier (tracking) ---------------------------------------------------------------


def awaiting_complement(
    *, owner=None, cert=None, items=("identity", "address_line"), message="Merci de compléter."
) -> tuple[Dossier, User]:
    """A dossier of `owner` for which an agent of `cert` asked a complement of `items`: (dossier, agent)."""
    owner = owner or citizen()
    cert = cert or CertFactory()
    agent_user = agent(cert=cert)
    queued_dossiers(cert=cert, owner=owner)
    dossier = claim.queue_claim_next(agent=agent_user)
    decisions.dossier_decide(
        dossier=dossier, agent=agent_user, decision="request_complement", items=list(items), message=message
    )
    dossier.refresh_from_db()
    return dossier, agent_user


# --- Payments through the fake provider ----------------------------------------------------------


def fees_pay(dossier: Dossier) -> Dossier:
    """What a payer does on the fake provider's page for what the draft owes (nothing when it owes
    nothing): the payment service's own path, start then the signed notification."""
    payment_services.fake_payment_complete(dossier=dossier, actor=dossier.applicant or dossier.filed_by)
    return dossier


def mail_link(message, path_prefix: str) -> str:
    """The path of the first link in `message` (a sent mail) under `path_prefix`, SITE_URL removed;
    the HTML part carries the same link."""
    import re  # noqa: PLC0415 - used by this helper only

    base = settings.SITE_URL.rstrip("/")
    links = re.findall(rf"{re.escape(base)}({re.escape(path_prefix)}\S*)", message.body)
    assert links, f"no link under {path_prefix} in: {message.body}"
    html_part = message.alternatives[0][0]
    assert f"{base}{links[0]}" in html_part
    return links[0]


# --- Hostile files, as the upload tests send them ------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose PNG header claims `width`×`height` (an image bomb's header; the
    pixels are never there)."""
    import struct  # noqa: PLC0415 - used by this helper only
    import zlib  # noqa: PLC0415 - used by this helper only

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def pdf_hostile(kind: str) -> bytes:
    """A one-page PDF made by pypdf that the upload checks refuse: "javascript" (an open action
    running a script) or "encrypted" (AES-256)."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if kind == "javascript":
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
        )
    else:
        writer.encrypt(user_password="", owner_password="secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- Counting password hashes (a sign-up must hash whether or not the address is known) ---------


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast, tests only) that counts the passwords it hashed, in `encoded`."""

    algorithm = "counting_md5"
    encoded = 0

    def encode(self, password, salt):
        CountingHasher.encoded += 1
        return super().encode(password, salt)


def organisation_admin(organisation: Organisation | None = None, **kwargs) -> User:
    """A dealer who administers their organisation (invites staff, manages its tokens)."""
    return dealer(organisation, is_organisation_admin=True, **kwargs)
