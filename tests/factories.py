"""Factories for tests: real rows through the ORM, and valid vehicle/holder payloads."""

import factory
from rest_framework.authtoken.models import Token

from dossiers.models import HOLDER_FIELDS, VEHICLE_FIELDS, Cert, Procedure
from dossiers.services import dossier_create
from portal.models import Organisation, OrganisationToken, Role, User

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


def token_for(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def organisation_token(user: User) -> str:
    return OrganisationToken.objects.create(organisation=user.organisation, created_by=user, name="DMS").key


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


def draft(
    *,
    filed_by: User,
    procedure: str = Procedure.FIRST_REGISTRATION,
    vehicle: dict | None = None,
    holder: dict | None = None,
    **kwargs,
):
    return dossier_create(
        procedure=procedure,
        vehicle=vehicle or vehicle_data(),
        holder=holder or holder_data(),
        filed_by=filed_by,
        **kwargs,
    )
