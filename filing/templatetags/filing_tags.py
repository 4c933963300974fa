from django import template

from filing.selectors import drafts_for_user

register = template.Library()


@register.inclusion_tag("filing/_drafts.html", takes_context=True)
def filing_drafts(context) -> dict:
    """The signed-in citizen's unfinished filings with a "Reprendre" link, and "Nouvelle démarche"."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"drafts": drafts_for_user(user=user) if user is not None else [], "new_button": True}
