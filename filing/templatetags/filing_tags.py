from django import template

from filing.selectors import dossier_drafts_unfiled, drafts_for_user

register = template.Library()


@register.inclusion_tag("filing/_drafts.html", takes_context=True)
def filing_drafts(context) -> dict:
    """The signed-in citizen's unfinished filings with a "Reprendre" link, and "Nouvelle démarche"."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return {"drafts": [], "unfiled": []}
    return {
        "drafts": drafts_for_user(user=user),
        "unfiled": dossier_drafts_unfiled(user=user),
        "csrf_token": context.get("csrf_token"),
    }
