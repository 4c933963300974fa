"""Where a webhook may be sent: an HTTPS URL whose host resolves only to public addresses.

Checked when an endpoint is created and again before every delivery (DNS may have changed); the
delivery then connects to the very address checked, so a second lookup cannot swap it
(DNS rebinding). WEBHOOKS_ALLOW_LOOPBACK lets tests use http:// on 127.0.0.1.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _forbidden(ip: Address, *, allow_loopback: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return not allow_loopback
    return (
        ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def url_resolve(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, checked IP address) of `url`; ValidationError (on field "url", in
    French) when it is not https or when its host resolves to a non-public address."""
    allow_loopback = settings.WEBHOOKS_ALLOW_LOOPBACK
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValidationError(
            {"url": _("Saisissez une adresse valide, par exemple https://exemple.fr/webhooks.")}
        ) from None
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise ValidationError({"url": _("L'adresse doit commencer par https:// (les envois sont chiffrés).")})
    host = parts.hostname
    if not host:
        raise ValidationError(
            {"url": _("Saisissez une adresse valide, par exemple https://exemple.fr/webhooks.")}
        )
    if parts.username or parts.password:
        raise ValidationError({"url": _("L'adresse ne doit pas contenir d'identifiant ni de mot de passe.")})
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValidationError(
            {"url": _("Le nom « %(host)s » ne correspond à aucune adresse : vérifiez-le.") % {"host": host}}
        ) from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    refused = [ip for ip in addresses if _forbidden(ip, allow_loopback=allow_loopback)]
    if refused or not addresses:
        raise ValidationError(
            {
                "url": _(
                    "L'adresse « %(host)s » mène à %(ip)s, une adresse privée, de bouclage, locale au "
                    "lien, de multidiffusion ou réservée : indiquez l'adresse publique de votre serveur."
                )
                % {"host": host, "ip": refused[0] if refused else "?"}
            }
        )
    return parts.scheme, host, port, str(addresses[0])
