"""Template tags of the site shell: the DSFR table wrapper and each role's landing page."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from portal.models import User
from portal.views import landing_url

register = template.Library()


@register.simple_block_tag
def dsfr_table(content: SafeString, *, caption: str, modifiers: str = "") -> SafeString:
    """A DSFR table: `content` is the table's rows (`<thead>`, `<tbody>`, `<tfoot>`).

    The caption names the table, and the scrolling container carries the same name: a wide table
    scrolls sideways inside it, so it takes the keyboard focus (`tabindex="0"`) and is announced as
    a named region, else keyboard users could not scroll it (axe `scrollable-region-focusable`).
    `modifiers` are DSFR table variants without their prefix, e.g. "bordered no-caption-mobile".
    """
    classes = " ".join(["fr-table", *(f"fr-table--{name}" for name in modifiers.split())])
    return format_html(
        '<div class="{classes}"><div class="fr-table__wrapper">'
        '<div class="fr-table__container" tabindex="0" role="region" aria-label="{caption}">'
        '<div class="fr-table__content"><table><caption>{caption}</caption>{content}</table>'
        "</div></div></div></div>",
        classes=classes,
        caption=caption,
        content=content,
    )


@register.simple_tag
def landing(user: User) -> str:
    """Where the header sends a signed-in user: their space, the queue, or the supervision."""
    return landing_url(user=user)
