"""Typed dossier data: what the create API accepts, what it refuses, and where each fact lives.

No free-form data: every input field is typed and documented, unknown fields are refused, a payment
is recorded only by the payment service, and the certificate prints typed fields only.
"""

import html
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cert_workflow.checks import services as checks_services
from cert_workflow.documents.data import DUPLICATE_MENTION, OWNER_MENTION, document_data
from cert_workflow.models import CheckResult
from cert_workflow.review import claim
from dossiers import services
from dossiers.cleaning import PROCEDURE_FACTS, VEHICLE_PROCEDURES
from dossiers.errors import InvalidInput
from dossiers.models import (
    HOLDER_FIELDS,
    VEHICLE_FIELDS,
    Dossier,
    DossierEvent,
    Holder,
    Payment,
    Procedure,
    Sale,
    State,
    TitleMention,
    Vehicle,
)
from tests import factories

ISSUED_AT = timezone.make_aware(datetime(2026, 11, 30, 10, 0))


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {factories.token_for(user)}")
    return client


def payload(procedure: str = Procedure.FIRST_REGISTRATION, **top) -> dict:
    """A valid create request; a procedure on a registered vehicle proves a title put in the register."""
    holder = factories.holder_data()
    if procedure in VEHICLE_PROCEDURES:
        return {"procedure": procedure, "vehicle": factories.vehicle_data(), "holder": holder, **top}
    if procedure == Procedure.CHANGE_OF_OWNER:
        title = factories.registered()
        code = (top.get("sale") or {}).get("code_de_cession")
        if code:
            factories.sale_declared(title=title, code=re.sub(r"[\s-]", "", code).upper())
            return {"procedure": procedure, "title": {"plate": title.vehicle.plate}, "holder": holder, **top}
    else:
        title = factories.registered(holder=holder)
    return {"procedure": procedure, "title": factories.proof(title), "holder": holder, **top}


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Dossier, Vehicle, Holder, Sale, TitleMention, Payment, DossierEvent)
    }


def errors_of(response) -> dict[str, str]:
    return {error["field"]: error["rule"] for error in response.json()["errors"]}


@pytest.mark.django_db
def test_declared_payment_is_refused_as_unknown_fields_and_nothing_is_created():
    user = factories.citizen()
    client = client_for(user)
    # A first dossier, submitted, gives the Y.6 that an applicant would claim to have paid.
    first = client.post("/api/v1/dossiers/", payload(), format="json").json()
    factories.fees_pay(Dossier.objects.get(reference=first["reference"]))
    y6 = client.post(f"/api/v1/dossiers/{first['reference']}/submit/").json()["fees"]["y6"]
    before = counts()

    response = client.post(
        "/api/v1/dossiers/",
        payload(details={"paid_amount": y6}, paid_amount=y6),
        format="json",
    )

    assert response.status_code == 400
    assert errors_of(response) == {"details": "unknown_field", "paid_amount": "unknown_field"}
    assert "details" in response.json()["errors"][0]["message"]
    assert counts() == before


@pytest.mark.django_db
def test_a_dossier_created_without_payment_is_not_submitted_and_stays_unpaid():
    user = factories.citizen()
    client = client_for(user)
    reference = client.post("/api/v1/dossiers/", payload(), format="json").json()["reference"]
    before = counts()

    refused = client.post(f"/api/v1/dossiers/{reference}/submit/")

    assert refused.status_code == 400
    assert errors_of(refused) == {"payment": "unpaid"}
    dossier = Dossier.objects.get(reference=reference)
    assert dossier.state == State.DRAFT
    assert not CheckResult.objects.filter(dossier=dossier).exists()
    assert client.get(f"/api/v1/dossiers/{reference}/").json()["payment"]["paid"] == "0.00"
    assert counts() == before


@pytest.mark.django_db
def test_payment_record_twice_with_one_provider_reference_records_one_payment():
    dossier = factories.draft(filed_by=factories.citizen(), paid=False)
    first = services.payment_record(
        dossier=dossier, amount=Decimal("552.00"), provider="psp", provider_reference="PSP-42"
    )
    again = services.payment_record(
        dossier=dossier, amount=Decimal("552.00"), provider="psp", provider_reference="PSP-42"
    )

    assert again.pk == first.pk
    assert list(Payment.objects.values_list("amount", flat=True)) == [Decimal("552.00")]
    assert DossierEvent.objects.filter(dossier=dossier, action="payment_recorded").count() == 1

    other = factories.draft(filed_by=factories.citizen(), paid=False)
    before = counts()
    with pytest.raises(InvalidInput):
        services.payment_record(
            dossier=other, amount=Decimal("1.00"), provider="psp", provider_reference="PSP-42"
        )
    assert counts() == before


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _type_of(schema: dict, prop: dict) -> str:
    """The JSON type of a property, through the enum components and nullable wrappers."""
    if "type" in prop:
        return prop["type"]
    for key in ("allOf", "oneOf", "anyOf"):
        for part in prop.get(key, []):
            part = _resolve(schema, part)
            if part.get("type") and part["type"] != "null":
                return part["type"]
    return _resolve(schema, prop).get("type", "")


@pytest.mark.django_db
def test_openapi_schema_documents_every_vehicle_and_holder_field_with_its_type():
    schema = APIClient().get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/v1/dossiers/"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    create = _resolve(schema, body)
    assert create["discriminator"]["propertyName"] == "procedure"
    assert set(create["discriminator"]["mapping"]) == set(Procedure.values)

    change_of_owner = _resolve(schema, {"$ref": create["discriminator"]["mapping"]["change_of_owner"]})
    assert set(change_of_owner["properties"]) == {"procedure", "title", "holder", "sale"}
    first = _resolve(schema, {"$ref": create["discriminator"]["mapping"]["first_registration"]})
    vehicle = _resolve(schema, first["properties"]["vehicle"])
    holder = _resolve(schema, change_of_owner["properties"]["holder"])
    assert list(vehicle["properties"]) == list(VEHICLE_FIELDS)
    assert list(holder["properties"]) == list(HOLDER_FIELDS)
    for fields in (vehicle["properties"], holder["properties"]):
        assert all(_type_of(schema, prop) for prop in fields.values()), fields
    assert _type_of(schema, vehicle["properties"]["vin"]) == "string"
    assert vehicle["properties"]["vin"]["maxLength"] == 17
    assert _type_of(schema, vehicle["properties"]["fiscal_power"]) == "integer"
    assert _type_of(schema, vehicle["properties"]["noise_db"]) == "integer"
    assert vehicle["properties"]["technical_inspection_date"]["format"] == "date"
    assert _type_of(schema, holder["properties"]["holder_kind"]) == "string"
    assert holder["properties"]["birth_date"]["format"] == "date"
    assert {"vin", "make", "commercial_name", "genre", "energy", "fiscal_power"} <= set(vehicle["required"])
    sale = _resolve(schema, change_of_owner["properties"]["sale"])
    assert sale["properties"]["sold_at"]["format"] == "date-time"

    for procedure, facts in PROCEDURE_FACTS.items():
        documented = _resolve(schema, {"$ref": create["discriminator"]["mapping"][procedure]})
        vehicle = {"vehicle"} if procedure in VEHICLE_PROCEDURES else set()
        assert set(documented["properties"]) == {"procedure", "holder", *vehicle, *facts}


@pytest.mark.django_db
def test_three_bad_fields_get_three_errors_in_one_answer_and_nothing_is_created():
    user = factories.citizen()
    before = counts()
    request = payload(Procedure.FIRST_REGISTRATION)
    request["vehicle"].update(vin="VF1RFB00O12345678", plate="123-AB")
    del request["holder"]

    response = client_for(user).post("/api/v1/dossiers/", request, format="json")

    assert response.status_code == 400
    assert errors_of(response) == {
        "vehicle.vin": "vin_forbidden_letter",
        "vehicle.plate": "plate_format",
        "holder": "required",
    }
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("procedure", "extra", "field"),
    [
        (Procedure.DUPLICATE, {"sale": {"sold_at": "2026-11-20T10:00"}}, "sale"),  # not a sale
        (Procedure.FIRST_REGISTRATION, {"mentions": ["ATTELAGE"]}, "mentions"),  # the register's
        (Procedure.SALE_DECLARATION, {"holder_is_owner": False}, "holder_is_owner"),  # no title issued
        (Procedure.CHANGE_OF_OWNER, {"sale": {"sold_at": "2026-11-20T10:00", "price": 9000}}, "sale.price"),
    ],
)
def test_fields_a_procedure_does_not_take_are_refused(procedure, extra, field):
    user = factories.citizen()
    request = payload(procedure, **extra)
    before = counts()
    response = client_for(user).post("/api/v1/dossiers/", request, format="json")
    assert response.status_code == 400
    assert errors_of(response) == {field: "unknown_field"}
    assert counts() == before


@pytest.mark.django_db
def test_unknown_vehicle_field_is_refused_with_the_other_errors():
    user = factories.citizen()
    request = payload()
    request["vehicle"].update(colour="rouge", fiscal_power="sept")
    response = client_for(user).post("/api/v1/dossiers/", request, format="json")
    assert response.status_code == 400
    assert errors_of(response) == {"vehicle.colour": "unknown_field", "vehicle.fiscal_power": "integer"}
    assert not Dossier.objects.exists()


@pytest.mark.django_db
def test_change_of_owner_stores_the_sale_typed_and_shows_the_title_facts():
    user = factories.citizen()
    request = payload(
        Procedure.CHANGE_OF_OWNER,
        sale={"sold_at": "2026-11-14T10:30", "mileage_km": "48 200", "code_de_cession": "k7p2-m9q4 x"},
    )
    response = client_for(user).post("/api/v1/dossiers/", request, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    sale = Dossier.objects.get(reference=body["reference"]).sale
    assert timezone.localtime(sale.sold_at).strftime("%d/%m/%Y %H:%M") == "14/11/2026 10:30"
    assert (sale.mileage_km, sale.code_de_cession) == (48200, "K7P2M9Q4X")
    assert body["sale"]["code_de_cession"] == "K7P2M9Q4X" and body["sale"]["mileage_km"] == 48200
    # The buyer owns what they bought: leasing is not the buyer's to declare (nor the seller's to pass on).
    assert body["holder_is_owner"] is True and body["duplicate_reason"] == "" and body["mentions"] == []
    assert "details" not in body


@pytest.mark.django_db
def test_a_sale_without_its_date_and_hour_is_refused():
    user = factories.citizen()
    request = payload(Procedure.SALE_DECLARATION, sale={"sold_at": "hier", "mileage_km": -3})
    response = client_for(user).post("/api/v1/dossiers/", request, format="json")
    assert response.status_code == 400
    assert errors_of(response) == {"sale.sold_at": "datetime", "sale.mileage_km": "range"}
    assert not Dossier.objects.exists()


@pytest.mark.django_db
def test_certificate_values_come_from_the_typed_fields():
    vehicle = factories.vehicle_data(
        plate="GA-456-BC", noise_db=78, noise_rpm=2850, technical_inspection_date="02/10/2025"
    )
    dossier = factories.draft(
        filed_by=factories.citizen(),
        procedure=Procedure.DUPLICATE,
        vehicle=vehicle,
        facts={"duplicate_reason": "loss"},
    )
    # Leasing and validity are the register's title's (tests/test_title_facts.py), set here directly.
    Dossier.objects.filter(pk=dossier.pk).update(holder_is_owner=False, validity_until=date(2027, 3, 4))
    services.title_mentions_set(dossier=dossier, mentions=["ATTELAGE AUTORISÉ", "VÉHICULE DE COLLECTION"])
    dossier.refresh_from_db()

    data = document_data(dossier=dossier, kind="certificate", serial="2026AB00001", issued_at=ISSUED_AT)

    assert (data["U.1"], data["U.2"], data["X.1"], data["H"]) == ("78", "2850", "02/10/2025", "04/03/2027")
    assert data["C.4a"] == ""  # leasing: the holder is not the owner
    assert [data[f"Z.{n}"] for n in range(1, 5)] == [
        DUPLICATE_MENTION,
        "ATTELAGE AUTORISÉ",
        "VÉHICULE DE COLLECTION",
        "",
    ]

    owner = factories.draft(filed_by=factories.citizen())
    plain = document_data(dossier=owner, kind="certificate", serial="2026AB00002", issued_at=ISSUED_AT)
    assert plain["C.4a"] == OWNER_MENTION
    assert (plain["U.1"], plain["X.1"], plain["H"], plain["Z.1"]) == ("", "", "", "")


@pytest.mark.django_db
def test_a_fifth_mention_is_refused_and_the_four_recorded_stay():
    dossier = factories.draft(filed_by=factories.citizen())
    services.title_mentions_set(dossier=dossier, mentions=["A", "B"])
    with pytest.raises(InvalidInput):
        services.title_mentions_set(dossier=dossier, mentions=["1", "2", "3", "4", "5"])
    assert list(dossier.mentions.values_list("position", "text")) == [(1, "A"), (2, "B")]


@pytest.mark.django_db
def test_agent_page_shows_the_typed_facts_with_french_labels(client):
    dossier = factories.draft(
        filed_by=factories.citizen(),
        procedure=Procedure.CHANGE_OF_OWNER,
        vehicle=factories.vehicle_data(plate="GA-789-BC", noise_db=78),
        facts={"sale": {"sold_at": "2026-11-14T10:30", "mileage_km": 48200, "code_de_cession": "K7P2M9Q4"}},
    )
    services.title_mentions_set(dossier=dossier, mentions=["ATTELAGE AUTORISÉ"])
    cert = factories.CertFactory()
    Dossier.objects.filter(pk=dossier.pk).update(state=State.QUEUED, cert=cert, queued_at=timezone.now())
    # Queued directly: its checks, as the sweep runs them (the claim takes checked dossiers).
    checks_services.checks_run_queued(dossier_ids=[dossier.pk])
    agent = factories.agent(cert=cert)
    claim.queue_claim_next(agent=agent)
    client.force_login(agent)

    page = html.unescape(client.get(reverse("agent-dossier", args=[dossier.reference])).content.decode())

    for label, value in (
        ("Date et heure de la cession", "14/11/2026 10:30"),
        ("Kilométrage", "48200km"),
        ("Code de cession", "K7P2M9Q4"),
        ("U.1 — Niveau sonore à l'arrêt", "78"),
        ("Mention Z.1", "ATTELAGE AUTORISÉ"),
        ("Paiements enregistrés", "Aucun"),
    ):
        # Numbers are grouped and followed by their unit with no-break spaces (« 48 200 km »).
        grouped = re.sub(r"(?<=\d)[\u202f\u00a0](?=\d|km)", "", page)
        assert label in page and (value in page or value in grouped), label


BEFORE = [("dossiers", "0010_typed_facts")]
AFTER = [("dossiers", "0012_remove_dossier_details")]


@pytest.mark.django_db(transaction=True)
def test_data_migration_moves_the_old_details_to_the_typed_fields():
    user = factories.citizen()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldVehicle, OldHolder, OldDossier = (
        old.get_model("dossiers", name) for name in ("Vehicle", "Holder", "Dossier")
    )
    holder = OldHolder.objects.create(
        holder_kind="person",
        last_name="Martin",
        address_line="1 rue",
        postcode="25000",
        city="Besançon",
        department="25",
    )

    def old_dossier(n: int, procedure: str, details: dict):
        vehicle = OldVehicle.objects.create(
            vin=f"VF1MIGRA{n:09d}",
            make="RENAULT",
            commercial_name="CLIO",
            genre="VP",
            energy="ES",
            fiscal_power=5,
        )
        return OldDossier.objects.create(
            reference=f"CG-MIG-{n}",
            procedure=procedure,
            applicant_id=user.pk,
            filed_by_id=user.pk,
            vehicle=vehicle,
            holder=holder,
            details=details,
        )

    sale = old_dossier(
        1,
        "change_of_owner",
        {
            "sale_date": "2026-11-14",
            "sale_time": "10:30",
            "mileage": 48200,
            "code_de_cession": "k7p2-m9q4",
            "paid_amount": "552.00",  # the applicant's own claim: not a payment
        },
    )
    title = old_dossier(
        2,
        "duplicate",
        {
            "reason": "theft",
            "leasing": True,
            "validity_until": "2027-03-04",
            "noise_db": 78,
            "noise_rpm": "2850",
            "technical_inspection_date": "2025-10-02",
            "mentions": ["ATTELAGE AUTORISÉ", " ", "VÉHICULE DE COLLECTION"],
        },
    )
    plain = old_dossier(3, "change_of_address", {})

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    # Then the later migrations, so that the current models read the rows.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = Dossier.objects.get(pk=sale.pk)
    assert timezone.localtime(moved.sale.sold_at).strftime("%Y-%m-%d %H:%M") == "2026-11-14 10:30"
    assert (moved.sale.mileage_km, moved.sale.code_de_cession) == (48200, "K7P2M9Q4")
    assert not Payment.objects.exists()

    moved = Dossier.objects.select_related("vehicle").get(pk=title.pk)
    assert (moved.duplicate_reason, moved.holder_is_owner, moved.validity_until) == (
        "theft",
        False,
        date(2027, 3, 4),
    )
    assert (moved.vehicle.noise_db, moved.vehicle.noise_rpm) == (78, 2850)
    assert moved.vehicle.technical_inspection_date == date(2025, 10, 2)
    assert list(moved.mentions.values_list("position", "text")) == [
        (1, "ATTELAGE AUTORISÉ"),
        (2, "VÉHICULE DE COLLECTION"),
    ]

    untouched = Dossier.objects.get(pk=plain.pk)
    assert untouched.holder_is_owner is True and untouched.duplicate_reason == ""
    assert not Sale.objects.filter(dossier=untouched).exists()
    assert "details" not in {
        field.name
        for field in connection.introspection.get_table_description(
            connection.cursor(), Dossier._meta.db_table
        )
    }


# --- Hostile input: a 400 naming each field and rule, never a 500, and nothing stored -------------


def post_refused(user, request, *, raw: bool = False):
    """POST the create request; assert it is refused and that nothing moved. The response."""
    before, rows = factories.snapshot(), counts()
    client = client_for(user)
    if raw:  # JSON as an attacker writes it: escapes json.dumps keeps, bodies it cannot make
        body = request if isinstance(request, bytes) else json.dumps(request)
        response = client.post("/api/v1/dossiers/", body, content_type="application/json")
    else:
        response = client.post("/api/v1/dossiers/", request, format="json")
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == "application/json"
    assert factories.snapshot() == before and counts() == rows
    return response


@pytest.mark.django_db
@pytest.mark.parametrize("procedure", [["x"], {"a": 1}, 5, None, "teleport"])
def test_a_procedure_that_is_not_one_of_the_names_is_a_choice_error(procedure):
    response = post_refused(factories.citizen(), payload(procedure=procedure))
    assert response.status_code == 400
    assert errors_of(response) == {"procedure": "choice"}


def _in(**delta) -> str:
    return (timezone.localtime() + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sold_at", "rule"),
    [
        ("9999-12-31T23:59:59-05:00", "future"),  # overflowed on conversion to UTC
        ("9999-12-31", "future"),
        ("0001-01-01T00:00", "range"),
        ("0001-01-01T00:00:00+05:00", "range"),
        ("1899-12-31T23:59:00+00:00", "range"),
        pytest.param(_in(hours=2), "future", id="in-two-hours"),  # a sale is declared once made
    ],
)
def test_a_sale_outside_1900_to_now_is_refused(sold_at, rule):
    request = payload(Procedure.CHANGE_OF_OWNER, sale={"sold_at": sold_at, "code_de_cession": "K7P2M9Q4"})
    response = post_refused(factories.citizen(), request)
    assert errors_of(response) == {"sale.sold_at": rule}


@pytest.mark.django_db
def test_a_sale_made_an_hour_ago_is_accepted():
    request = payload(Procedure.CHANGE_OF_OWNER, sale={"sold_at": _in(hours=-1)})
    assert (
        client_for(factories.citizen()).post("/api/v1/dossiers/", request, format="json").status_code == 201
    )


@pytest.mark.django_db
def test_dates_outside_their_plausible_range_are_all_refused_at_once():
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    request = payload(validity_until="9999-12-31", **factories.registration_facts())
    request["vehicle"].update(first_registration_date="0001-01-01", technical_inspection_date="2101-01-01")
    request["holder"]["birth_date"] = tomorrow
    # validity_until is a dealer's fact (a citizen's is refused as dealer_only).
    response = post_refused(factories.dealer(), request)
    assert errors_of(response) == {
        "validity_until": "range",
        "vehicle.first_registration_date": "range",
        "vehicle.technical_inspection_date": "range",
        "holder.birth_date": "future",
    }

    request = payload(validity_until="1899-12-31", **factories.registration_facts())
    request["vehicle"]["first_registration_date"] = tomorrow
    request["holder"]["birth_date"] = "1899-12-31"
    response = post_refused(factories.dealer(), request)
    assert errors_of(response) == {
        "validity_until": "range",
        "vehicle.first_registration_date": "future",
        "holder.birth_date": "range",
    }


@pytest.mark.django_db
def test_control_characters_in_any_text_field_are_refused():
    request = payload()
    request["vehicle"]["make"] = "REN\u0000AULT"
    request["holder"].update(
        last_name="Mar\u0000tin", city="Besan\u0007çon", address_line="12 rue\ndes Lilas"
    )
    response = post_refused(factories.citizen(), request)
    assert errors_of(response) == {
        "vehicle.make": "control_character",
        "holder.last_name": "control_character",
        "holder.city": "control_character",
        "holder.address_line": "control_character",
    }
    sale = payload(Procedure.CHANGE_OF_OWNER, sale={"sold_at": _in(days=-3)})
    sale["sale"]["code_de_cession"] = "AB\u0000CD1234"
    assert errors_of(post_refused(factories.citizen(), sale)) == {"sale.code_de_cession": "control_character"}


@pytest.mark.django_db
def test_a_lone_surrogate_is_an_encoding_error_even_in_an_unknown_field_name():
    request = payload()
    request["vehicle"]["make"] = "\ud800X"
    request["holder"]["\udc00"] = "x"
    response = post_refused(factories.citizen(), request, raw=True)
    errors = errors_of(response)
    assert errors.pop("vehicle.make") == "encoding"
    assert list(errors.values()) == ["unknown_field"]


@pytest.mark.django_db
def test_an_email_longer_than_254_characters_is_refused():
    email = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".fr"
    assert len(email) > 254
    response = post_refused(factories.citizen(), payload(holder=factories.holder_data(email=email)))
    assert errors_of(response) == {"holder.email": "max_length"}


@pytest.mark.django_db
@pytest.mark.parametrize("value", [["RENAULT"], {"a": "b"}, True, 123])
def test_a_text_field_takes_a_string_only(value):
    request = payload()
    request["vehicle"]["make"] = value
    request["holder"]["postcode"] = 25000  # a postcode is a string: "01000" would lose its 0
    response = post_refused(factories.citizen(), request)
    assert errors_of(response) == {"vehicle.make": "string", "holder.postcode": "string"}
    assert response.json()["errors"][0]["message"] == "Texte attendu."


@pytest.mark.django_db
def test_an_infinite_number_for_a_text_field_is_not_text():
    body = json.dumps(payload()).replace('"RENAULT"', "1e400").encode()
    response = post_refused(factories.citizen(), body, raw=True)
    assert errors_of(response) == {"vehicle.make": "string"}


@pytest.mark.django_db
def test_json_nested_deeper_than_the_parser_goes_is_a_400():
    body = b'{"procedure":"first_registration","x":' + b"[" * 1100 + b"]" * 1100 + b"}"
    response = post_refused(factories.citizen(), body, raw=True)
    assert response.status_code == 400
    assert (
        response.json()["errors"][0]["field"] == "" and response.json()["errors"][0]["rule"] == "json_depth"
    )


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_a_json_413():
    request = payload(holder=factories.holder_data(last_name="x" * 5_000_000))
    response = post_refused(factories.citizen(), request)
    assert response.status_code == 413
    assert errors_of(response) == {"": "too_large"}


@pytest.mark.django_db
def test_the_missing_title_comes_with_the_other_errors_in_the_first_answer():
    request = payload(Procedure.CHANGE_OF_OWNER, sale={"sold_at": _in(days=-1)})
    del request["title"]
    request["holder"]["postcode"] = "1"
    response = post_refused(factories.citizen(), request)
    assert errors_of(response) == {"title": "required", "holder.postcode": "postcode_format"}


@pytest.mark.django_db
@pytest.mark.parametrize("power", ["9999.99", "0.01", 85.123])
def test_power_with_more_decimals_than_the_register_holds_is_refused(power):
    response = post_refused(factories.citizen(), payload(vehicle=factories.vehicle_data(power_kw=power)))
    assert errors_of(response) == {"vehicle.power_kw": "decimal_places"}


@pytest.mark.django_db
def test_the_schema_gives_the_mileage_its_real_bounds():
    schema = APIClient().get("/api/schema/?format=json").json()
    sale = schema["components"]["schemas"]["SaleInputRequest"]["properties"]["mileage_km"]
    assert (sale["minimum"], sale["maximum"]) == (0, 2_000_000)
