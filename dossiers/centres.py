"""The nine CERTs for cartes grises and the departments each one is the home centre of.

Plain constants, no models: the data migration 0004_load_certs and `manage.py seed_demo` both load
them, so this module must stay importable from a migration.

How the departments are split (docs/domain/REFERENCE.md §7). The Besançon pilot keeps its historical
20 departments (Grand Est, Bourgogne-Franche-Comté, Seine-et-Marne, Val-de-Marne); Seine-Maritime
goes to Amiens as it did in 2017. The rest follows geography, aiming at a roughly even population
per metropolitan centre (2023 INSEE figures, millions, rounded):

    BES  Grand Est 5.6 + Bourgogne-Franche-Comté 2.8 + 77 1.4 + 94 1.4      ≈ 11.2
    PAR  Île-de-France minus 77 and 94 9.5 + Centre-Val de Loire 2.6         ≈ 12.1
    AMI  Hauts-de-France 6.0 + Normandie 3.3                                 ≈  9.3
    POI  Nouvelle-Aquitaine minus Limousin 5.3 + Pays de la Loire 3.9
         + Bretagne 3.4                                                      ≈ 12.6
    CLE  Auvergne-Rhône-Alpes 8.1 + Limousin (19, 23, 87) 0.7                ≈  8.8
    NIM  Occitanie 6.1 + Provence-Alpes-Côte d'Azur 5.1 + Corse 0.35         ≈ 11.6

Limousin goes to Clermont-Ferrand rather than Poitiers because it borders Auvergne and evens the
two centres out. Overseas: Guadeloupe also serves Martinique and Guyane (the Antilles-Guyane
zone), La Réunion serves 974 and Mayotte 976. Daily capacities follow the same population shares;
the supervisor changes them at run time, this is only the starting point.
"""

# Every centre handles every procedure: routing may then send any dossier to any centre when its
# home centre is overloaded. Same codes as dossiers.models.Procedure (checked by tests).
ALL_PROCEDURES: tuple[str, ...] = (
    "first_registration",
    "change_of_owner",
    "sale_declaration",
    "change_of_address",
    "duplicate",
    "correction",
    "import",
)

# fmt: off
CERTS: tuple[dict, ...] = (
    {
        "code": "BES",
        "name": "CERT de Besançon",
        "city": "Besançon",
        "daily_capacity": 550,
        "departments": [
            # Grand Est
            "08", "10", "51", "52", "54", "55", "57", "67", "68", "88",
            # Bourgogne-Franche-Comté
            "21", "25", "39", "58", "70", "71", "89", "90",
            # Île-de-France, pilot share
            "77", "94",
        ],
    },
    {
        "code": "PAR",
        "name": "CERT de Paris",
        "city": "Paris",
        "daily_capacity": 600,
        "departments": [
            # Île-de-France without 77 and 94
            "75", "78", "91", "92", "93", "95",
            # Centre-Val de Loire
            "18", "28", "36", "37", "41", "45",
        ],
    },
    {
        "code": "AMI",
        "name": "CERT d'Amiens",
        "city": "Amiens",
        "daily_capacity": 450,
        "departments": [
            # Hauts-de-France
            "02", "59", "60", "62", "80",
            # Normandie (Seine-Maritime included)
            "14", "27", "50", "61", "76",
        ],
    },
    {
        "code": "POI",
        "name": "CERT de Poitiers",
        "city": "Poitiers",
        "daily_capacity": 600,
        "departments": [
            # Nouvelle-Aquitaine without Limousin
            "16", "17", "24", "33", "40", "47", "64", "79", "86",
            # Pays de la Loire
            "44", "49", "53", "72", "85",
            # Bretagne
            "22", "29", "35", "56",
        ],
    },
    {
        "code": "CLE",
        "name": "CERT de Clermont-Ferrand",
        "city": "Clermont-Ferrand",
        "daily_capacity": 450,
        "departments": [
            # Auvergne-Rhône-Alpes
            "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
            # Limousin
            "19", "23", "87",
        ],
    },
    {
        "code": "NIM",
        "name": "CERT de Nîmes",
        "city": "Nîmes",
        "daily_capacity": 550,
        "departments": [
            # Occitanie
            "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
            # Provence-Alpes-Côte d'Azur
            "04", "05", "06", "13", "83", "84",
            # Corse
            "2A", "2B",
        ],
    },
    {
        "code": "GUA",
        "name": "CERT de Guadeloupe",
        "city": "Basse-Terre",
        "daily_capacity": 120,
        "departments": ["971", "972", "973"],
    },
    {
        "code": "REU",
        "name": "CERT de La Réunion",
        "city": "Saint-Denis",
        "daily_capacity": 100,
        "departments": ["974"],
    },
    {
        "code": "MAY",
        "name": "CERT de Mayotte",
        "city": "Mamoudzou",
        "daily_capacity": 60,
        "departments": ["976"],
    },
)
# fmt: on


def cert_defaults(entry: dict) -> dict:
    """The model fields of one CERT entry, everything except its code (for update_or_create)."""
    return {
        "name": entry["name"],
        "city": entry["city"],
        "daily_capacity": entry["daily_capacity"],
        "departments": list(entry["departments"]),
        "procedures": list(ALL_PROCEDURES),
        "active": True,
    }
