"""The taxes on a certificate, Y.1–Y.6 (docs/domain/REFERENCE.md §5): pure functions over dated rate tables.

The tables live in dossiers/data (taxe_regionale.csv, malus_co2_wltp.csv) and are read once. A date
the tables do not cover raises FeesUnavailable instead of guessing: a human must update the tables.
"""

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from dossiers.geography import region_of
from dossiers.validators import ELECTRIC_ENERGIES, HYBRID_ENERGIES, validate_energy, validate_genre

DATA_DIR = Path(__file__).resolve().parent / "data"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Y.1: CIBS L.421-42 caps the regional rate at 60 €/CV.
REGIONAL_RATE_CAP = Decimal("60")
OLD_VEHICLE_YEARS = 10  # older than this: Y.1 halved
# Y.4 and Y.5 are fixed.
FIXED_TAX = Decimal("11.00")
DELIVERY_FEE = Decimal("2.76")


# The French names of Y.1–Y.6 (REFERENCE.md §5): the one definition for every page and document
# that shows the fees (filing's fees step, the payment page, the receipt).
FEE_LABELS = {
    "y1": _lazy("Taxe régionale"),
    "y2": _lazy("Taxe sur les véhicules de transport"),
    "y3": _lazy("Malus (émissions de CO2 et masse)"),
    "y4": _lazy("Taxe fixe"),
    "y5": _lazy("Redevance d'acheminement"),
    "y6": _lazy("Montant total"),
}


def fee_rows(fees: "Fees") -> list[dict[str, object]]:
    """Y.1–Y.6 as table rows: code as on the certificate (Y.1), French label, amount."""
    return [
        {"code": f"Y.{name[1]}", "label": label, "amount": getattr(fees, name)}
        for name, label in FEE_LABELS.items()
    ]


# What a person is told when compute_fees' plain ValueError says a vehicle fact it needs is missing.
FEES_UNCOMPUTABLE = _lazy(
    "Les taxes de ce dossier ne peuvent pas être calculées : une caractéristique du véhicule nécessaire "
    "au calcul manque (par exemple la masse en service ou les émissions de CO2)."
)


class FeesUnavailable(ValueError):
    """The rate tables do not cover this date (or this case on this date): they must be updated."""

    def __init__(self, on: date, what: str = ""):
        self.on = on
        # The technical detail, for the log, the administrators and the API's `expected`.
        message = _(
            "Les barèmes des taxes ne couvrent pas la date du %(date)s%(what)s : tables à mettre à jour."
        )
        super().__init__(message % {"date": on.isoformat(), "what": f" ({what})" if what else ""})

    @property
    def public_message(self) -> str:
        """What the person paying is told: no table names, the date the French way."""
        return _(
            "Le calcul des taxes est momentanément indisponible pour la date du %(date)s : réessayez "
            "plus tard ou, si le problème persiste, contactez le service qui gère ce portail."
        ) % {"date": self.on.strftime("%d/%m/%Y")}


@dataclass(frozen=True)
class Fees:
    """Y.1–Y.6 in euros, 2 decimal places; notes explain exemptions and the assumptions made."""

    y1: Decimal
    y2: Decimal
    y3: Decimal
    y4: Decimal
    y5: Decimal
    y6: Decimal
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in ("y1", "y2", "y3", "y4", "y5", "y6")}


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _as_date(on: date) -> date:
    return on.date() if isinstance(on, datetime) else on


# --- Y.1 taxe régionale ------------------------------------------------------------------------


class RegionalRate(NamedTuple):
    region_code: str
    region_name: str
    eur_per_cv: Decimal
    # Percentage of Y.1 waived for EL/H2 vehicles; None when the table says "unverified".
    electric_exemption: Decimal | None
    valid_from: date
    valid_to: date


def _load_rates() -> dict[str, tuple[RegionalRate, ...]]:
    rates: dict[str, list[RegionalRate]] = {}
    with (DATA_DIR / "taxe_regionale.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            exemption = row["electric_exemption"]
            rate = RegionalRate(
                region_code=row["region_code"],
                region_name=row["region_name"],
                eur_per_cv=Decimal(row["eur_per_cv"]),
                electric_exemption=None if exemption == "unverified" else Decimal(exemption),
                valid_from=date.fromisoformat(row["valid_from"]),
                valid_to=date.fromisoformat(row["valid_to"]),
            )
            rates.setdefault(rate.region_code, []).append(rate)
    return {code: tuple(sorted(rows, key=lambda r: r.valid_from)) for code, rows in rates.items()}


REGIONAL_RATES: dict[str, tuple[RegionalRate, ...]] = _load_rates()

# Île-de-France Mobilités majoration (LF2026), 14 € from 2026-03-01 (12 € planned for 2027, not in
# the tables yet). Its basis is disputed in the sources: per CV (54.95 + 14 = 68.95 €/CV, what most
# sources announce, hence the default) or flat per certificate. settings.FEES_IDF_MAJORATION picks
# "per_cv" (default) or "flat". The majoration is a separate tax: the 60 €/CV cap does not apply to it.
IDF_REGION = "11"
IDF_MAJORATION = Decimal("14.00")
IDF_MAJORATION_FROM = date(2026, 3, 1)
IDF_MAJORATION_TO = date(2026, 12, 31)
IDF_MAJORATION_MODES = ("per_cv", "flat")


def regional_rate(*, region_code: str, on: date) -> RegionalRate:
    """The regional tax rate row in force in this region on this date; FeesUnavailable if none is."""
    on = _as_date(on)
    for rate in REGIONAL_RATES.get(region_code, ()):
        if rate.valid_from <= on <= rate.valid_to:
            return rate
    raise FeesUnavailable(on, _("taxe régionale de la région %(region)s") % {"region": region_code})


def _idf_majoration_mode() -> str:
    mode = getattr(settings, "FEES_IDF_MAJORATION", "per_cv")
    if mode not in IDF_MAJORATION_MODES:
        raise ImproperlyConfigured(f"FEES_IDF_MAJORATION must be one of {IDF_MAJORATION_MODES}, not {mode!r}")
    return mode


def regional_tax(
    *, rate: RegionalRate, fiscal_power: int, energy: str, genre: str, on: date, vehicle_age_years: float
) -> tuple[Decimal, tuple[str, ...]]:
    """Y.1 for one vehicle under one rate row, with the notes explaining how it was reduced."""
    on = _as_date(on)
    notes: list[str] = []
    per_cv = min(rate.eur_per_cv, REGIONAL_RATE_CAP)
    flat = ZERO
    if rate.region_code == IDF_REGION and IDF_MAJORATION_FROM <= on <= IDF_MAJORATION_TO:
        if _idf_majoration_mode() == "per_cv":
            per_cv += IDF_MAJORATION
            notes.append(_("Majoration Île-de-France Mobilités de 14 € par cheval fiscal incluse."))
        else:
            flat = IDF_MAJORATION
            notes.append(_("Majoration Île-de-France Mobilités de 14 € par certificat incluse."))
    amount = per_cv * fiscal_power
    if vehicle_age_years > OLD_VEHICLE_YEARS:
        amount /= 2
        notes.append(_("Véhicule de plus de 10 ans : taxe régionale réduite de moitié."))
    if energy in ELECTRIC_ENERGIES:
        if rate.electric_exemption is None:
            notes.append(
                _(
                    "Exonération des véhicules électriques ou à hydrogène non vérifiée pour la région "
                    "%(region)s : taxe régionale calculée sans exonération."
                )
                % {"region": rate.region_name}
            )
        elif rate.electric_exemption:
            amount *= (100 - rate.electric_exemption) / 100
            notes.append(
                _("Véhicule électrique ou à hydrogène : taxe régionale exonérée à %(percent)s %%.")
                % {"percent": rate.electric_exemption.normalize()}
            )
    if genre != "VP":
        # docs/domain/REFERENCE.md §5: utility and special vehicles have other multipliers, not modelled here.
        notes.append(
            _("Coefficients propres aux véhicules autres que les voitures particulières non appliqués.")
        )
    return _money(amount + flat), tuple(notes)


# --- Y.2 taxe sur les véhicules de transport ---------------------------------------------------

# Goods vehicles, road tractors and buses; not VP, VASP, two-wheelers and mopeds.
TRANSPORT_GENRES = frozenset({"CTTE", "CAM", "TRR", "TCP"})


def transport_tax(*, genre: str, ptac_kg: int | None) -> Decimal:
    """Y.2 by PTAC (F.2) for goods vehicles, road tractors and buses; zero for other genres."""
    if genre not in TRANSPORT_GENRES:
        return ZERO
    if ptac_kg is None:
        raise ValueError(f"ptac_kg (F.2) is required for the Y.2 tax of a {genre}")
    # docs/domain/REFERENCE.md §5: ≤ 3.5 t; 3.5–6 t; 6–11 t; ≥ 11 t (so 6 t exactly is in the second band).
    if ptac_kg <= 3500:
        return Decimal("34.00")
    if ptac_kg <= 6000:
        return Decimal("127.00")
    if ptac_kg < 11000:
        return Decimal("189.00")
    return Decimal("285.00")


# --- Y.3 malus (CO2 and weight) ----------------------------------------------------------------


class Co2Grid(NamedTuple):
    valid_from: date
    valid_to: date
    amounts: dict[int, Decimal]  # g/km -> euros, every gram from the threshold to the cap
    threshold: int  # first taxed g/km
    cap_from: int  # from this g/km on, the cap
    cap: Decimal  # also the cap of CO2 + weight together


# The 2025 grid applied only from 1 March 2025 (late finance law). Later grids from 1 January.
_CO2_GRID_STARTS = {2025: date(2025, 3, 1)}


def _load_co2_grids() -> tuple[Co2Grid, ...]:
    by_year: dict[int, dict[int, Decimal]] = {}
    with (DATA_DIR / "malus_co2_wltp.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_year.setdefault(int(row["year"]), {})[int(row["co2_g_km"])] = Decimal(row["malus_eur"])
    grids = []
    for year, amounts in sorted(by_year.items()):
        cap_from = max(amounts)
        grids.append(
            Co2Grid(
                valid_from=_CO2_GRID_STARTS.get(year, date(year, 1, 1)),
                valid_to=date(year, 12, 31),
                amounts=amounts,
                threshold=min(amounts),
                cap_from=cap_from,
                cap=amounts[cap_from],
            )
        )
    return tuple(grids)


CO2_GRIDS: tuple[Co2Grid, ...] = _load_co2_grids()

# Jan–Feb 2025 used the 2024 grid, which the CSV does not hold. docs/domain/REFERENCE.md §5 gives only its
# threshold (118 g) and its cap (60,000 € from 194 g): fees are computed when those settle them.
GRID_2024_PERIOD = (date(2025, 1, 1), date(2025, 2, 28))
GRID_2024_CAP_FROM = 194
GRID_2024_CAP = Decimal("60000")

# Weight malus on the mass in running order (G): marginal €/kg bands, each from its first kg to the
# next band's first kg minus one, kg counted inclusively (2026, 1,950 kg: 200×10 + 100×15 +
# 100×20 + 51×25 = 6,775 €). The 2025 bands apply from 1 March 2025, like the CO2 grid.
WEIGHT_BANDS: dict[int, tuple[tuple[int, int], ...]] = {
    2025: ((1600, 10), (1800, 15), (1900, 20), (2000, 25), (2100, 30)),
    2026: ((1500, 10), (1700, 15), (1800, 20), (1900, 25), (2000, 30)),
}
# EVs (and H2) pay no weight malus until this date, then get a 600 kg allowance.
ELECTRIC_WEIGHT_EXEMPT_UNTIL = date(2026, 6, 30)
ELECTRIC_WEIGHT_ALLOWANCE = 600
# The reference gives −200 kg to plug-in hybrids with more than 50 km of electric range and −100 kg
# to other hybrids. The range is not on the certificate, so every hybrid code gets −100 kg: a PHEV
# may be overcharged (and the applicant can ask for the correction), never undercharged.
HYBRID_WEIGHT_ALLOWANCE = 100

# The malus is a tax on passenger cars: other genres (goods vehicles, two-wheelers...) pay none.
MALUS_GENRES = frozenset({"VP"})


def co2_malus(*, co2_g_km: int, grid: Co2Grid) -> Decimal:
    """The CO2 part of Y.3 for a WLTP figure under one year's grid."""
    if co2_g_km < grid.threshold:
        return ZERO
    return grid.amounts[min(co2_g_km, grid.cap_from)]


def weight_malus(*, mass_kg: int, year: int) -> Decimal:
    """The weight part of Y.3 for a taxable mass (allowances already deducted) under a year's bands."""
    bands = WEIGHT_BANDS[year]
    total = 0
    for index, (first_kg, per_kg) in enumerate(bands):
        last_kg = bands[index + 1][0] - 1 if index + 1 < len(bands) else mass_kg
        taxed_kg = min(mass_kg, last_kg) - first_kg + 1
        if taxed_kg > 0:
            total += taxed_kg * per_kg
    return Decimal(total)


def _co2_grid(on: date) -> Co2Grid | None:
    return next((grid for grid in CO2_GRIDS if grid.valid_from <= on <= grid.valid_to), None)


def malus(
    *, energy: str, genre: str, co2_g_km: int | None, mass_kg: int | None, on: date
) -> tuple[Decimal, tuple[str, ...]]:
    """Y.3 for a first registration in France: CO2 and weight malus, together capped."""
    on = _as_date(on)
    electric = energy in ELECTRIC_ENERGIES
    notes: list[str] = []
    if genre not in MALUS_GENRES:
        if genre == "VASP":
            notes.append(_("Malus non calculé pour un VASP (cas des autocaravanes à vérifier)."))
        return ZERO, tuple(notes)
    if electric and on <= ELECTRIC_WEIGHT_EXEMPT_UNTIL:
        return ZERO, (_("Véhicule électrique ou à hydrogène : exonéré de malus."),)
    if not electric and co2_g_km is None:
        raise ValueError("co2_g_km (V.7) is required for the malus of a vehicle that is not electric")

    if GRID_2024_PERIOD[0] <= on <= GRID_2024_PERIOD[1]:
        if co2_g_km is not None and co2_g_km >= GRID_2024_CAP_FROM:
            note = _(
                "Barème 2024 (janvier–février 2025) : plafond de 60 000 € atteint par le seul malus CO2."
            )
            return _money(GRID_2024_CAP), (note,)
        raise FeesUnavailable(on, _("barème de malus 2024, absent des tables"))

    grid = _co2_grid(on)
    if grid is None or on.year not in WEIGHT_BANDS:
        raise FeesUnavailable(on, _("barème de malus"))

    co2_part = ZERO
    if electric:
        notes.append(_("Véhicule électrique ou à hydrogène : exonéré de malus CO2."))
    else:
        co2_part = co2_malus(co2_g_km=co2_g_km, grid=grid)

    if mass_kg is None:
        raise ValueError("mass_kg (G) is required for the weight malus of a passenger car")
    taxable_mass = mass_kg
    if electric:
        taxable_mass -= ELECTRIC_WEIGHT_ALLOWANCE
        notes.append(
            _(
                "Véhicule électrique : abattement de 600 kg sur le malus au poids ; l'exonération des "
                "véhicules à faible empreinte carbone n'est pas prise en compte."
            )
        )
    elif energy in HYBRID_ENERGIES:
        taxable_mass -= HYBRID_WEIGHT_ALLOWANCE
        notes.append(
            _(
                "Véhicule hybride : abattement de 100 kg sur le malus au poids (200 kg pour un hybride "
                "rechargeable de plus de 50 km d'autonomie électrique, non vérifiable ici)."
            )
        )
    weight_part = weight_malus(mass_kg=taxable_mass, year=on.year)

    total = co2_part + weight_part
    if total > grid.cap:
        total = grid.cap
        notes.append(
            _("Malus CO2 et malus au poids plafonnés ensemble à %(cap)s €.")
            % {"cap": f"{grid.cap:,.0f}".replace(",", "\u202f")}
        )
    return _money(total), tuple(notes)


# --- Y.1–Y.6 -----------------------------------------------------------------------------------


def compute_fees(
    *,
    fiscal_power: int,
    energy: str,
    genre: str,
    co2_g_km: int | None,
    mass_kg: int | None,
    ptac_kg: int | None,
    department: str,
    on: date,
    first_registration_in_france: bool,
    vehicle_age_years: float | None,
) -> Fees:
    """The fees Y.1–Y.6 of a certificate issued on `on`; FeesUnavailable if the tables do not cover it."""
    on = _as_date(on)
    energy = validate_energy(energy)
    genre = validate_genre(genre)
    rate = regional_rate(region_code=region_of(department), on=on)
    y1, notes = regional_tax(
        rate=rate,
        fiscal_power=fiscal_power,
        energy=energy,
        genre=genre,
        on=on,
        vehicle_age_years=vehicle_age_years or 0,
    )
    y2 = transport_tax(genre=genre, ptac_kg=ptac_kg)
    y3 = ZERO
    if first_registration_in_france:
        y3, malus_notes = malus(energy=energy, genre=genre, co2_g_km=co2_g_km, mass_kg=mass_kg, on=on)
        notes += malus_notes
        if y3 and (vehicle_age_years or 0) >= 1:
            # Used imports get an age-based reduction of the malus that docs/domain/REFERENCE.md does not give.
            notes += (
                _("Véhicule d'occasion importé : la réfaction du malus selon l'âge n'est pas appliquée."),
            )
    return Fees(
        y1=y1,
        y2=_money(y2),
        y3=y3,
        y4=FIXED_TAX,
        y5=DELIVERY_FEE,
        y6=_money(y1 + y2 + y3 + FIXED_TAX + DELIVERY_FEE),
        notes=notes,
    )
