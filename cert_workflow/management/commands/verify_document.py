"""`manage.py verify_document <pdf>`: read the verification link of a certificate or CPI and judge it.

The link is the URI of a link annotation (the one over the QR code). The token is checked locally,
with the portal's key and register, exactly as the public page does, then the vehicle fields it
vouches for are looked for in the PDF's text, so that a genuine QR code pasted on a doctored
document is caught too.

Exit status: 0 authentic, 1 not valid, 2 no verification link or unreadable file, 3 superseded,
4 withdrawn (a CPI whose dossier was refused or abandoned).
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from cert_workflow.documents.signing import INVALID, SUPERSEDED, WITHDRAWN, Verdict, token_verify

EXIT_INVALID = 1
EXIT_UNREADABLE = 2
EXIT_SUPERSEDED = 3
EXIT_WITHDRAWN = 4

_TOKEN_PATH = re.compile(r"/verifier/(?P<token>[A-Za-z0-9_-]+)/?$")


def pdf_link_uris(path: Path) -> list[str]:
    """Every URI of a link annotation in the PDF at `path`, in page order."""
    from pypdf import PdfReader  # imported here: only this command needs it

    uris = []
    for page in PdfReader(path).pages:
        for ref in page.get("/Annots") or []:
            annotation = ref.get_object()
            if annotation.get("/Subtype") != "/Link":
                continue
            action = annotation.get("/A")
            action = action.get_object() if action is not None else None
            if action is not None and action.get("/S") == "/URI" and action.get("/URI"):
                uris.append(str(action["/URI"]))
    return uris


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader  # imported here: only this command needs it

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def verification_token(uris: list[str]) -> tuple[str, str] | None:
    """The first (uri, token) pair among `uris` that points to a /verifier/<token> page."""
    for uri in uris:
        match = _TOKEN_PATH.search(urlsplit(uri).path)
        if match:
            return uri, match["token"]
    return None


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def fields_printed(verdict: Verdict, text: str) -> bool:
    """Whether the plate and the VIN's last 4 characters the token vouches for appear in `text`."""
    printed = _squeeze(text)
    return all(_squeeze(value) in printed for value in (verdict.plate, verdict.vin_last4) if value)


class Command(BaseCommand):
    help = _("Vérifie un certificat ou un CPI en PDF à partir de son lien de vérification (code QR).")

    def add_arguments(self, parser):
        parser.add_argument("pdf", type=Path, help=_("Le fichier PDF à vérifier"))

    def handle(self, *args, pdf: Path, **options):
        try:
            found = verification_token(pdf_link_uris(pdf))
            text = pdf_text(pdf)
        except (OSError, ValueError) as exc:  # pypdf's errors derive from ValueError or OSError
            raise CommandError(
                _("Impossible de lire le PDF %(path)s : %(error)s") % {"path": pdf, "error": exc},
                returncode=EXIT_UNREADABLE,
            ) from exc
        if found is None:
            raise CommandError(
                _("Aucun lien de vérification (/verifier/…) dans les annotations du PDF %(path)s.")
                % {"path": pdf},
                returncode=EXIT_UNREADABLE,
            )
        uri, token = found
        self.stdout.write(_("Lien de vérification : %(uri)s") % {"uri": uri})
        site = urlsplit(settings.SITE_URL)
        if urlsplit(uri).netloc != site.netloc:
            self.stderr.write(
                _("Attention : le lien ne pointe pas vers le portail (%(site)s).") % {"site": site.netloc}
            )

        verdict = token_verify(token)
        if verdict.status == INVALID:
            self.stdout.write(_("Verdict : non valide (signature incorrecte ou document inconnu)."))
            raise SystemExit(EXIT_INVALID)
        self._print_fields(verdict)
        if not fields_printed(verdict, text):
            self.stdout.write(
                _(
                    "Verdict : non valide (le code est authentique mais le texte du PDF ne porte pas "
                    "l'immatriculation ou le numéro de série qu'il garantit)."
                )
            )
            raise SystemExit(EXIT_INVALID)
        if verdict.status == SUPERSEDED:
            self.stdout.write(_("Verdict : remplacé (un document plus récent l'a remplacé)."))
            raise SystemExit(EXIT_SUPERSEDED)
        if verdict.status == WITHDRAWN:
            self.stdout.write(
                _(
                    "Verdict : retiré le %(date)s (la demande n'a pas abouti) : ce document n'est plus "
                    "valable."
                )
                % {"date": verdict.withdrawn_on.strftime("%d/%m/%Y") if verdict.withdrawn_on else "—"}
            )
            raise SystemExit(EXIT_WITHDRAWN)
        if verdict.current:
            self.stdout.write(_("Verdict : authentique, en cours de validité."))
        else:
            self.stdout.write(_("Verdict : authentique, mais plus en cours de validité."))

    def _print_fields(self, verdict: Verdict) -> None:
        rows = [
            (_("Document"), verdict.kind_label),
            (_("Numéro de formule"), verdict.serial),
            (_("Immatriculation (A)"), verdict.plate or "—"),
            (_("Marque (D.1)"), verdict.make),
            (_("Dénomination commerciale (D.3)"), verdict.commercial_name),
            (_("VIN (E), 4 derniers caractères"), verdict.vin_last4),
            (_("Délivré le"), verdict.issued_on.strftime("%d/%m/%Y") if verdict.issued_on else "—"),
        ]
        if verdict.valid_until:
            rows.append((_("Valable jusqu'au"), verdict.valid_until.strftime("%d/%m/%Y")))
        for label, value in rows:
            self.stdout.write(f"{label} : {value}")
