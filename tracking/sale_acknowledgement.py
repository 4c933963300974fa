"""The seller's acknowledgement of a declaration of sale: the code de cession to hand to the buyer,
its expiry, the vehicle, the seller and the sale. Laid out by WeasyPrint on the letter template of
the issued documents (templates/certificates/_letter.html), rendered on request: it prints only
what the dossier holds, so there is nothing to store."""

from typing import Any

from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from dossiers.models import Dossier


def _local(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "d/m/Y H:i") if moment else ""


def sale_acknowledgement_data(*, dossier: Dossier) -> dict[str, Any]:
    """The values printed on the acknowledgement (`dossier` is a sale declaration with its sale)."""
    sale, vehicle, holder = dossier.sale, dossier.vehicle, dossier.holder
    return {
        "reference": dossier.reference,
        "serial": dossier.reference,
        "issued_on": formats.date_format(timezone.localdate(), "d/m/Y"),
        "cert": "",
        "code": sale.code_de_cession,
        "expires_on": _local(sale.code_expires_at),
        "sold_on": _local(sale.sold_at),
        "mileage": f"{sale.mileage_km:,}".replace(",", " ") + " km" if sale.mileage_km is not None else "",
        "plate": vehicle.plate or "",
        "vin": vehicle.vin,
        "vehicle": f"{vehicle.make} {vehicle.commercial_name}".strip(),
        "seller": holder.display_name,
        "seller_address": f"{holder.address_line}\n{holder.postcode} {holder.city}",
    }


def sale_acknowledgement_html(*, dossier: Dossier) -> str:
    data = sale_acknowledgement_data(dossier=dossier)
    context = {"data": data, "holder_name": data["seller"], "holder_address": data["seller_address"]}
    with translation.override("fr"):
        return render_to_string("tracking/sale_acknowledgement_pdf.html", context)


def sale_acknowledgement_pdf(*, dossier: Dossier) -> bytes:
    """The acknowledgement as a PDF."""
    from weasyprint import HTML  # loaded only by the processes that render (as the issued documents)

    return HTML(string=sale_acknowledgement_html(dossier=dossier)).write_pdf()
