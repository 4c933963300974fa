"""`manage.py seed_demo`: demo accounts for every role, the nine CERTs and a few dozen dossiers.

Idempotent: accounts and the organisation are found by their natural keys, demo dossiers by their
vehicle's VIN, so a second run creates nothing and prints the same logins. The demo API tokens are
the exception: only their digest is stored, so each run replaces them and prints the new secrets. Every dossier is
created and moved through dossiers.services and dossiers.transitions, exactly as the web and the API
would do it.
"""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cert_workflow.checks import services as checks
from cert_workflow.review import decisions
from cert_workflow.stats import services as stats
from dossiers.centres import CERTS, cert_defaults
from dossiers.errors import InvalidInput
from dossiers.models import Cert, Dossier, Procedure, RegisteredTitle, State
from dossiers.register import register_entry_load
from dossiers.services import dossier_create, dossier_submit, dossier_withdraw
from dossiers.states import TransitionNotAllowed
from dossiers.transitions import dossier_transition
from dossiers.validators import vin_check_digit
from payments.services import fake_payment_complete
from portal import tokens
from portal.models import ApiToken, Organisation, OrganisationToken, Role, User

DEFAULT_PASSWORD = "demo-portail-2026"  # noqa: S105 - a documented demo password, refused without DEBUG

# SIREN and SIRET are Luhn-valid (SIRET = SIREN + NIC 00001 + key).
GARAGE = {
    "name": "Garage de la Gare",
    "siren": "812345676",
    "siret": "81234567600017",
    "habilitation_number": "HAB-25-2017-0042",
    "tax_agrement": True,
}
ORGANISATION_TOKEN_NAME = "Logiciel de gestion (démonstration)"  # noqa: S105 - a label, not a secret
API_TOKEN_NAME = "Démonstration"  # noqa: S105 - a label, not a secret


@dataclass(frozen=True)
class Account:
    email: str
    role: str
    first_name: str
    last_name: str
    cert_code: str | None = None


ACCOUNTS: tuple[Account, ...] = (
    Account("citoyen@example.fr", Role.CITIZEN, "Camille", "Martin"),
    Account("garage@example.fr", Role.DEALER, "Dominique", "Garnier"),
    *(
        Account(
            f"agent.{entry['code'].lower()}@example.fr",
            Role.AGENT,
            "Instructeur",
            entry["city"],
            cert_code=entry["code"],
        )
        for entry in CERTS
    ),
    Account("superviseur@example.fr", Role.SUPERVISOR, "Sacha", "Perrin"),
    Account("admin@example.fr", Role.ADMIN, "Alix", "Renaud"),
)

# --- Vehicles: the certificate fields of each demo model (docs/domain/FIELDS.md names) and the start of its VIN.
# fmt: off
MODEL_COLUMNS = (
    "wmi", "vds", "make", "commercial_name", "type_variant_version", "cnit", "genre", "eu_category",
    "eu_body", "body", "energy", "fiscal_power", "power_kw", "displacement_cm3", "co2_g_km", "mass_kg",
    "empty_mass_kg", "ptac_kg", "seats", "approval_number",
)
MODEL_ROWS: dict[str, tuple] = {
    #           WMI    VDS      D.1           D.3              D.2        D.2.1              J.1     J     J.2   J.3        P.3  P.6 P.2    P.1   V.7   G     G.1   F.2   S.1 K
    "clio":    ("VF1", "RJA00", "RENAULT",    "CLIO",          "RJA0B5",  "M10RENVP593E768", "VP",   "M1", "AB", "CI",      "ES", 5, "67",  999,  118,  1159, 1084, 1599, 5, "e2*2007/46*0654*05"),
    "208":     ("VF3", "UPHNS", "PEUGEOT",    "208",           "UPHNSY",  "M10PGTVP412F051", "VP",   "M1", "AB", "CI",      "ES", 5, "74",  1199, 125,  1158, 1090, 1640, 5, "e2*2007/46*0615*09"),
    "c3":      ("VF7", "SXYHY", "CITROEN",    "C3",            "SXYHYB",  "M10CTRVP301K226", "VP",   "M1", "AB", "CI",      "GO", 4, "75",  1499, 110,  1165, 1090, 1580, 5, "e2*2007/46*0534*21"),
    "megane":  ("VF1", "RCB00", "RENAULT",    "MEGANE E-TECH", "RCB0AE",  "M10RENVP911A404", "VP",   "M1", "AB", "CI",      "EL", 4, "160", None, None, 1636, 1560, 2150, 5, "e2*2018/858*00177*02"),
    "3008":    ("VF3", "MCYHZ", "PEUGEOT",    "3008 HYBRID",   "MCYHZR",  "M10PGTVP804G375", "VP",   "M1", "AF", "CI",      "EE", 8, "133", 1598, 31,   1820, 1745, 2340, 5, "e2*2007/46*0534*37"),
    "yaris":   ("VNK", "BAC3D", "TOYOTA",     "YARIS HYBRIDE", "MXPH11",  "M10TYTVP310H116", "VP",   "M1", "AB", "CI",      "EH", 4, "68",  1490, 92,   1115, 1040, 1565, 5, "e11*2007/46*4235*08"),
    "sandero": ("UU1", "DJF00", "DACIA",      "SANDERO",       "DJF0A1",  "M10DACVP542B901", "VP",   "M1", "AB", "CI",      "ES", 5, "67",  999,  120,  1030, 960,  1530, 5, "e2*2007/46*0636*07"),
    "kangoo":  ("VF1", "FWK00", "RENAULT",    "KANGOO VAN",    "FWK0BA",  "M10RENCT207C632", "CTTE", "N1", "BB", "FOURGON", "GO", 6, "70",  1461, 140,  1530, 1460, 2200, 2, "e2*2007/46*0667*03"),
    "golf":    ("WVW", "ZZZCD", "VOLKSWAGEN", "GOLF",          "CDDFYX",  "M10VLKVP781D553", "VP",   "M1", "AB", "CI",      "ES", 7, "110", 1498, 131,  1280, 1205, 1800, 5, "e1*2007/46*1915*11"),
    "model_y": ("XP7", "YGCEK", "TESLA",      "MODEL Y",       "005YL7E", "M10TSLVP000Y221", "VP",   "M1", "AF", "CI",      "EL", 6, "220", None, None, 1979, 1900, 2516, 5, "e4*2007/46*1321*14"),
}
# fmt: on
MODELS: dict[str, dict[str, Any]] = {
    name: {
        **dict(zip(MODEL_COLUMNS, row, strict=True)),
        "max_mass_kg": row[MODEL_COLUMNS.index("ptac_kg")],
        "euro_class": "EURO6",
    }
    for name, row in MODEL_ROWS.items()
}

# --- Holders (C.1, C.3); the department follows from the postcode.
CAMILLE = {
    "holder_kind": "person",
    "last_name": "Martin",
    "first_names": "Camille Louise",
    "birth_date": "1985-04-12",
    "email": "citoyen@example.fr",
    "address_line": "12 rue des Granges",
    "postcode": "25000",
    "city": "Besançon",
}
CAMILLE_IN_LYON = {**CAMILLE, "address_line": "8 quai Saint-Vincent", "postcode": "69001", "city": "Lyon"}

PERSON_COLUMNS = ("last_name", "first_names", "birth_date", "address_line", "postcode", "city")
# fmt: off
CUSTOMERS: dict[str, dict[str, str]] = {
    key: {"holder_kind": "person", **dict(zip(PERSON_COLUMNS, row, strict=True))}
    for key, row in {
        "rousseau": ("Rousseau", "Léa",      "1995-10-10", "6 rue de la Gare",             "25000", "Besançon"),
        "dubois":   ("Dubois",   "Nathalie", "1978-09-02", "3 rue de la Paix",             "75002", "Paris"),
        "lefebvre": ("Lefebvre", "Julien",   "1990-01-15", "21 rue des Trois-Cailloux",    "80000", "Amiens"),
        "moreau":   ("Moreau",   "Sophie",   "1982-06-30", "5 place du Vieux-Marché",      "76000", "Rouen"),
        "laurent":  ("Laurent",  "Thomas",   "1975-11-11", "14 rue Blatin",                "63000", "Clermont-Ferrand"),
        "girard":   ("Girard",   "Élodie",   "1988-03-22", "9 rue Carnot",                 "86000", "Poitiers"),
        "fontaine": ("Fontaine", "Marc",     "1969-07-07", "2 boulevard Victor-Hugo",      "30000", "Nîmes"),
        "muller":   ("Muller",   "Claire",   "1993-12-01", "17 rue des Juifs",             "67000", "Strasbourg"),
        "bernard":  ("Bernard",  "Hugo",     "1980-05-05", "10 rue Achille-René-Boisneuf", "97110", "Pointe-à-Pitre"),
        "payet":    ("Payet",    "Marie",    "1986-08-19", "40 rue de Paris",              "97400", "Saint-Denis"),
        "abdallah": ("Abdallah", "Saïd",     "1991-02-14", "1 place du Marché",            "97600", "Mamoudzou"),
    }.items()
}
# fmt: on
CUSTOMERS["transports"] = {
    "holder_kind": "company",
    "company_name": "Transports Lefèvre",
    "siret": "44306184100021",  # Luhn-valid
    "email": "contact@transports-lefevre.example.fr",
    "address_line": "4 rue de Chatillon",
    "postcode": "25480",
    "city": "École-Valentin",
}

# Reasons typed by the people of the demo: data recorded in the audit trail, as a real agent's would be.
COMPLEMENT_REASON = "La pièce fournie est illisible : merci d'en joindre une nouvelle copie."
REJECT_REASON = "Le VIN de la facture ne correspond pas à celui du certificat de conformité."
APPROVE_REASON = "Pièces vérifiées sur les originaux présentés par le professionnel : dossier complet."
COMPLEMENT_ITEMS = ["proof_of_address"]
WITHDRAW_REASON = "Demande faite en double."


@dataclass(frozen=True)
class DemoDossier:
    key: int  # makes the VIN and the plate of the demo vehicle, hence finds the dossier again
    owner: str  # "citizen" or "dealer"
    procedure: str
    target: str  # the state the demo leaves it in
    model: str
    holder: dict[str, str]
    # The procedure's own inputs (dossiers.cleaning.PROCEDURE_FACTS): sale, duplicate_reason...
    facts: dict[str, Any] = field(default_factory=dict)


def _sale(key: int, day: str, hour: str, code_de_cession: str = "") -> dict[str, Any]:
    sale = {
        "sold_at": f"2026-{day}T{hour}",
        "mileage_km": 30000 + 3517 * key,
        "code_de_cession": code_de_cession,
    }
    return {"sale": sale}


def _dealer_sale(key: int) -> dict[str, Any]:
    # A dealer's first registration gives its invoice date and the holder's mandate (required).
    return {
        "invoice_date": f"2026-11-{1 + key % 20:02d}",
        "mandate_reference": f"MANDAT-DEMO-{key:03d}",
        "external_ref": f"STOCK-{key:03d}",
    }


NO_FACTS: dict[str, Any] = {}
S = State
# fmt: off
CITIZEN_DOSSIERS = (
    (1,  Procedure.CHANGE_OF_OWNER,   S.DRAFT,               "clio",    CAMILLE,         _sale(1, "11-14", "10:30")),
    (2,  Procedure.CHANGE_OF_ADDRESS, S.DRAFT,               "208",     CAMILLE_IN_LYON, NO_FACTS),
    (3,  Procedure.DUPLICATE,         S.SUBMITTED,           "c3",      CAMILLE,         {"duplicate_reason": "loss"}),
    (4,  Procedure.CHANGE_OF_OWNER,   S.QUEUED,              "golf",    CAMILLE,         _sale(4, "11-03", "17:45")),
    (5,  Procedure.CHANGE_OF_OWNER,   S.IN_REVIEW,           "sandero", CAMILLE,         _sale(5, "10-28", "09:15")),
    (6,  Procedure.CHANGE_OF_ADDRESS, S.AWAITING_COMPLEMENT, "yaris",   CAMILLE_IN_LYON, NO_FACTS),
    (7,  Procedure.DUPLICATE,         S.APPROVED,            "megane",  CAMILLE,         {"duplicate_reason": "theft"}),
    (8,  Procedure.IMPORT,            S.QUEUED,              "golf",    CAMILLE,         NO_FACTS),
    (9,  Procedure.CORRECTION,        S.REJECTED,            "clio",    CAMILLE,         NO_FACTS),
    (10, Procedure.CHANGE_OF_OWNER,   S.WITHDRAWN,           "3008",    CAMILLE,         _sale(10, "11-01", "11:00")),
    (11, Procedure.SALE_DECLARATION,  S.APPROVED,            "208",     CAMILLE,         _sale(11, "11-08", "16:20")),
    (12, Procedure.CHANGE_OF_OWNER,   S.QUEUED,              "model_y", CAMILLE,         _sale(12, "11-18", "14:00")),
)
# The dealer's first registrations, for customers all over France: every centre gets some work.
DEALER_DOSSIERS = (
    (13, S.DRAFT, "clio", "rousseau"),         (14, S.DRAFT, "208", "dubois"),
    (15, S.DRAFT, "kangoo", "transports"),     (16, S.SUBMITTED, "yaris", "lefebvre"),
    (17, S.SUBMITTED, "sandero", "moreau"),    (18, S.SUBMITTED, "3008", "laurent"),
    (19, S.QUEUED, "clio", "girard"),          (20, S.QUEUED, "208", "fontaine"),
    (21, S.QUEUED, "megane", "muller"),        (22, S.QUEUED, "c3", "bernard"),
    (23, S.QUEUED, "model_y", "payet"),        (24, S.IN_REVIEW, "golf", "abdallah"),
    (25, S.QUEUED, "kangoo", "transports"),    (26, S.AWAITING_COMPLEMENT, "3008", "dubois"),
    (27, S.APPROVED, "yaris", "rousseau"),     (28, S.APPROVED, "sandero", "lefebvre"),
    (29, S.APPROVED, "clio", "laurent"),       (30, S.REJECTED, "golf", "moreau"),
)
# Freshly submitted dossiers of every procedure: the automatic checks take them after commit
# (at once in the embedded mode), then approve them or route them to a centre.
SUBMITTED_DOSSIERS = (
    (31, Procedure.FIRST_REGISTRATION, "model_y", CUSTOMERS["payet"],    NO_FACTS),
    (32, Procedure.CHANGE_OF_OWNER,    "c3",      CUSTOMERS["girard"],   _sale(32, "11-21", "15:10")),
    (33, Procedure.SALE_DECLARATION,   "clio",    CUSTOMERS["laurent"],  _sale(33, "11-24", "08:40")),
    (34, Procedure.CHANGE_OF_ADDRESS,  "golf",    CUSTOMERS["muller"],   NO_FACTS),
    (35, Procedure.DUPLICATE,          "208",     CUSTOMERS["fontaine"], {"duplicate_reason": "loss"}),
    (36, Procedure.CORRECTION,         "sandero", CUSTOMERS["dubois"],   NO_FACTS),
    (37, Procedure.IMPORT,             "3008",    CUSTOMERS["bernard"],  NO_FACTS),
)
# fmt: on
DOSSIERS: tuple[DemoDossier, ...] = (
    *(
        DemoDossier(key, "citizen", procedure, target, model, holder, facts)
        for key, procedure, target, model, holder, facts in CITIZEN_DOSSIERS
    ),
    *(
        DemoDossier(
            key,
            "dealer",
            Procedure.FIRST_REGISTRATION,
            target,
            model,
            CUSTOMERS[customer],
            _dealer_sale(key),
        )
        for key, target, model, customer in DEALER_DOSSIERS
    ),
    *(
        DemoDossier(key, "citizen", procedure, S.SUBMITTED, model, holder, facts)
        for key, procedure, model, holder, facts in SUBMITTED_DOSSIERS
    ),
)

# The holder in the register of the vehicles the demo's changes of owner buy.
SELLER = {
    "holder_kind": "person",
    "last_name": "Lambert",
    "first_names": "Paul",
    "birth_date": "1970-02-03",
    "address_line": "7 rue Battant",
    "postcode": "25000",
    "city": "Besançon",
}
# Vehicles of the register with no dossier yet: a demo user proves their title with the plate and
# formule number printed at the end (key, model, holder).
REGISTER_ONLY = ((41, "clio", CAMILLE), (42, "yaris", CAMILLE), (43, "208", CUSTOMERS["dubois"]))

# The moves from a draft to each demo state, in order.
PATHS: dict[str, tuple[str, ...]] = {
    S.DRAFT: (),
    S.SUBMITTED: (S.SUBMITTED,),
    S.QUEUED: (S.SUBMITTED, S.QUEUED),
    S.IN_REVIEW: (S.SUBMITTED, S.QUEUED, S.IN_REVIEW),
    S.AWAITING_COMPLEMENT: (S.SUBMITTED, S.QUEUED, S.IN_REVIEW, S.AWAITING_COMPLEMENT),
    S.APPROVED: (S.SUBMITTED, S.QUEUED, S.IN_REVIEW, S.APPROVED),
    S.REJECTED: (S.SUBMITTED, S.QUEUED, S.IN_REVIEW, S.REJECTED),
    S.WITHDRAWN: (S.WITHDRAWN,),
}

_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"
FIRST_IN_FRANCE = (Procedure.FIRST_REGISTRATION, Procedure.IMPORT)


def demo_vin(*, model: str, key: int) -> str:
    """A valid VIN (ISO 3779, with its check digit) unique to one demo dossier."""
    parts = MODELS[model]
    # Model year T (2026), plant "D" for "démo", a serial in a range no real vehicle of the demo uses.
    draft = f"{parts['wmi']}{parts['vds']}0TD{900000 + key:06d}"
    return f"{draft[:8]}{vin_check_digit(draft)}{draft[9:]}"


def demo_plate(*, key: int) -> str:
    """An SIV plate far from the start of the national series that the portal allocates from."""
    return f"GD-{100 + 7 * key:03d}-{_PLATE_LETTERS[key % 23]}{_PLATE_LETTERS[(5 * key) % 23]}"


def demo_vehicle(spec: DemoDossier) -> dict[str, Any]:
    """The vehicle payload of a demo dossier: new for first registrations, registered otherwise."""
    data = {name: value for name, value in MODELS[spec.model].items() if name not in ("wmi", "vds")}
    data["vin"] = demo_vin(model=spec.model, key=spec.key)
    if spec.procedure == Procedure.IMPORT:
        data["first_registration_date"] = "2022-05-17"  # abroad
    elif spec.procedure not in FIRST_IN_FRANCE:
        data["plate"] = demo_plate(key=spec.key)
        data["first_registration_date"] = f"{2016 + spec.key % 8}-{1 + spec.key % 12:02d}-15"
    return data


def demo_formule(*, key: int) -> str:
    """The numéro de formule of a demo title loaded in the register (REFERENCE.md §2), from before
    the portal: the serials the portal issues never meet it."""
    return f"2021DM{key:05d}"


def demo_title(*, key: int, model: str, holder: dict[str, Any], procedure: str) -> RegisteredTitle:
    """The demo vehicle `key` in the register with its current title (as register_load loads it)."""
    spec = DemoDossier(key, "citizen", procedure, State.DRAFT, model, holder)
    title, _created = register_entry_load(
        vehicle=demo_vehicle(spec), holder=holder, formule_number=demo_formule(key=key)
    )
    return title


class Command(BaseCommand):
    help = gettext_lazy(
        "Crée les comptes, les CERT et les dossiers de démonstration (sans effet s'ils existent déjà)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=gettext_lazy("Mot de passe de tous les comptes de démonstration."),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=gettext_lazy(
                "Accepter de créer les comptes de démonstration alors que DEBUG est désactivé."
            ),
        )

    def handle(self, *args, password: str, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                _(
                    "DEBUG est désactivé : ce serveur ressemble à une production. Les comptes de démonstration "
                    "ont des mots de passe connus ; relancez avec --force si c'est bien voulu."
                )
            )
        if not password:
            raise CommandError(_("Le mot de passe ne peut pas être vide."))

        certs = self._certs()
        users = self._accounts(password=password, certs=certs)
        api_tokens = self._api_tokens(users=users)
        organisation_token, organisation_secret = self._organisation_token(dealer=users["garage@example.fr"])
        created, existing = self._dossiers(users=users, certs=certs)
        # The public figures are computed by a periodic task; the demo shows them at once.
        stats.stats_refresh()
        self._report(
            users=users,
            password=password,
            api_tokens=api_tokens,
            organisation_token=organisation_token,
            organisation_secret=organisation_secret,
            created=created,
            existing=existing,
        )

    def _certs(self) -> dict[str, Cert]:
        # Only missing centres are created: capacities a supervisor changed since are kept.
        for entry in CERTS:
            Cert.objects.get_or_create(code=entry["code"], defaults=cert_defaults(entry))
        return {cert.code: cert for cert in Cert.objects.all()}

    @transaction.atomic
    def _accounts(self, *, password: str, certs: dict[str, Cert]) -> dict[str, User]:
        organisation, _created = Organisation.objects.get_or_create(
            siret=GARAGE["siret"],
            defaults={k: v for k, v in GARAGE.items() if k != "siret"},
        )
        users = {}
        for account in ACCOUNTS:
            values = {
                "role": account.role,
                "first_name": account.first_name,
                "last_name": account.last_name,
                "organisation": organisation if account.role == Role.DEALER else None,
                # The demo's only dealer administers the garage: staff and tokens pages.
                "is_organisation_admin": account.role == Role.DEALER,
                "cert": certs[account.cert_code] if account.cert_code else None,
                "is_staff": account.role == Role.ADMIN,
                "is_superuser": account.role == Role.ADMIN,
                "is_active": True,
            }
            user, created = User.objects.get_or_create(email=account.email, defaults=values)
            for name, value in values.items():
                setattr(user, name, value)
            # The printed password must be true even when the accounts existed with another one.
            if created or not user.check_password(password):
                user.set_password(password)
            user.save(update_fields=[*values, "password"])
            users[account.email] = user
        return users

    @transaction.atomic
    def _api_tokens(self, *, users: dict[str, User]) -> dict[str, str]:
        # A secret cannot be printed again from its digest: the previous run's demo token is
        # replaced by a new one, whose secret is printed this once.
        ApiToken.objects.filter(user__in=users.values(), name=API_TOKEN_NAME).delete()
        return {
            email: tokens.api_token_create(user=user, name=API_TOKEN_NAME)[1] for email, user in users.items()
        }

    @transaction.atomic
    def _organisation_token(self, *, dealer: User) -> tuple[OrganisationToken, str]:
        OrganisationToken.objects.filter(
            organisation=dealer.organisation, name=ORGANISATION_TOKEN_NAME
        ).delete()
        return tokens.organisation_token_create(
            organisation=dealer.organisation, created_by=dealer, name=ORGANISATION_TOKEN_NAME
        )

    def _dossiers(self, *, users: dict[str, User], certs: dict[str, Cert]) -> tuple[int, int]:
        owners = {"citizen": users["citoyen@example.fr"], "dealer": users["garage@example.fr"]}
        agents = {account.cert_code: users[account.email] for account in ACCOUNTS if account.cert_code}
        created = existing = 0
        # An agent reviews one dossier at a time: the dossiers left in review are claimed last,
        # after the agents have decided the others.
        for spec in sorted(DOSSIERS, key=lambda spec: spec.target == State.IN_REVIEW):
            vehicle = demo_vehicle(spec)
            if Dossier.objects.filter(vehicle__vin=vehicle["vin"]).exists():
                existing += 1
                continue
            # One transaction per dossier: the follow-ups (checks, routing, certificates) registered
            # by the workflow start after commit, once the dossier is in its demo state.
            with transaction.atomic():
                try:
                    facts = dict(spec.facts)
                    if spec.procedure not in FIRST_IN_FRANCE:
                        # A registered vehicle: in the register first, then its title proved.
                        seller = spec.procedure == Procedure.CHANGE_OF_OWNER
                        title = demo_title(
                            key=spec.key,
                            model=spec.model,
                            holder=SELLER if seller else spec.holder,
                            procedure=spec.procedure,
                        )
                        facts["title"] = {
                            "plate": title.vehicle.plate,
                            "formule_number": title.formule_number,
                        }
                        vehicle = None
                    dossier = dossier_create(
                        procedure=spec.procedure,
                        vehicle=vehicle,
                        holder=spec.holder,
                        filed_by=owners[spec.owner],
                        facts=facts,
                    )
                    self._drive(dossier, spec=spec, owner=owners[spec.owner], agents=agents)
                except (InvalidInput, TransitionNotAllowed) as exc:
                    raise CommandError(f"demo dossier {spec.key} ({spec.procedure}): {exc}") from exc
            created += 1
        for key, model, holder in REGISTER_ONLY:
            demo_title(key=key, model=model, holder=holder, procedure=Procedure.CHANGE_OF_ADDRESS)
        return created, existing

    def _drive(
        self,
        dossier: Dossier,
        *,
        spec: DemoDossier,
        owner: User,
        agents: dict[str, User],
    ) -> None:
        # The centre and the agent are those the workflow picks: routing records why, the agent of
        # that centre claims and decides, as they would through the pages.
        agent = None
        for step in PATHS[spec.target]:
            if step == State.SUBMITTED:
                # The citizen pays the fees on the fake provider's page first (PAYMENT_PROVIDER).
                fake_payment_complete(dossier=dossier, actor=owner)
                dossier_submit(dossier=dossier, actor=owner)
            elif step == State.QUEUED:
                # The workflow's own path: the automatic checks, then routing. Routing alone would
                # queue a dossier whose checks never ran (risk « non évalué », never claimable).
                checks.checks_run(dossier_ids=[dossier.pk])
                dossier.refresh_from_db()
                if dossier.state != State.QUEUED or dossier.cert is None:
                    raise CommandError(f"demo dossier {spec.key}: no centre takes {spec.procedure}")
                agent = agents[dossier.cert.code]
            elif step == State.IN_REVIEW:
                dossier_transition(
                    dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
                )
            elif step == State.AWAITING_COMPLEMENT:
                decisions.dossier_decide(
                    dossier=dossier,
                    agent=agent,
                    decision=decisions.Decision.REQUEST_COMPLEMENT,
                    message=COMPLEMENT_REASON,
                    items=COMPLEMENT_ITEMS,
                )
            elif step == State.REJECTED:
                decisions.dossier_decide(
                    dossier=dossier,
                    agent=agent,
                    decision=decisions.Decision.REJECT,
                    reason="vehicle_data_mismatch",
                    message=REJECT_REASON,
                )
            elif step == State.APPROVED:
                # The demo's dossiers carry no scanned pieces, so their documents check fails: the
                # agent confirms and says why, as the decision form asks.
                decisions.dossier_decide(
                    dossier=dossier,
                    agent=agent,
                    decision=decisions.Decision.APPROVE,
                    confirm_checks=True,
                    message=APPROVE_REASON,
                )
            elif step == State.WITHDRAWN:
                dossier_withdraw(dossier=dossier, actor=owner, reason=WITHDRAW_REASON)

    def _report(
        self,
        *,
        users: dict[str, User],
        password: str,
        api_tokens: dict[str, str],
        organisation_token: OrganisationToken,
        organisation_secret: str,
        created: int,
        existing: int,
    ) -> None:
        write = self.stdout.write
        write(
            self.style.SUCCESS(
                _("Dossiers de démonstration : %(created)d créés, %(existing)d déjà présents.")
                % {"created": created, "existing": existing}
            )
        )
        write("")
        write(
            self.style.MIGRATE_HEADING(
                _("Comptes de démonstration (mot de passe : %(password)s)") % {"password": password}
            )
        )
        write(f"  {_('Adresse électronique'):<28} {_('Rôle'):<26} {_('Mot de passe'):<20} {_('Jeton d’API')}")
        for email, user in users.items():
            role = user.get_role_display()
            if user.cert_id:
                role = f"{role} {user.cert.code}"
            write(f"  {email:<28} {role:<26} {password:<20} {api_tokens[email]}")
        write("")
        write(self.style.MIGRATE_HEADING(_("Véhicules au registre, sans dossier (preuve du titre)")))
        write(
            f"  {_('Immatriculation'):<16} {_('Numéro de formule'):<20} {_('Titulaire (nom, date de naissance)')}"
        )
        vins = [demo_vin(model=model, key=key) for key, model, _holder in REGISTER_ONLY]
        for title in (
            RegisteredTitle.objects.filter(vehicle__vin__in=vins, current=True)
            .select_related("vehicle", "holder")
            .order_by("vehicle__plate")
        ):
            birth = title.holder.birth_date.strftime("%d/%m/%Y") if title.holder.birth_date else ""
            write(
                f"  {title.vehicle.plate:<16} {title.formule_number:<20} {title.holder.display_name} {birth}"
            )
        write("")
        write(
            _("Jeton d'API de l'organisation « %(name)s » : %(key)s")
            % {"name": organisation_token.organisation.name, "key": organisation_secret}
        )
        write(
            _(
                "Utilisation : Authorization: Token <jeton>, ou POST /api/v1/auth/token/ avec "
                '{"email": ..., "password": ...}.'
            )
        )
        write(
            _(
                "Ces jetons ne sont affichés qu'ici (le portail n'en garde que l'empreinte) : un nouveau "
                "lancement les remplace. Ils expirent dans %(days)d jours."
            )
            % {"days": settings.API_TOKEN_DAYS}
        )
