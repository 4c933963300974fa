"""The dealer space's webhook page: endpoints, their creation (secret shown once), the log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.models import Role, User
from webhooks import selectors, services
from webhooks.forms import EndpointForm


def _organisation_of(user: User):
    if user.role != Role.DEALER or user.organisation_id is None:
        raise Http404
    return user.organisation


@login_required
def endpoints(request: HttpRequest) -> HttpResponse:
    organisation = _organisation_of(request.user)
    form = EndpointForm(request.POST if request.method == "POST" else None)
    secret = None
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.endpoint_create(
                organisation=organisation, url=form.cleaned_data["url"], created_by=request.user
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            form = EndpointForm()
    response = render(
        request,
        "webhooks/endpoints.html",
        {
            "organisation": organisation,
            "form": form,
            "created": created,
            "secret": secret,
            "endpoints": selectors.endpoints_of(organisation=organisation),
            "deliveries": selectors.deliveries_log(organisation=organisation),
        },
    )
    if secret:
        # The secret is on this page only: keep it out of every cache.
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def endpoint_deactivate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    organisation = _organisation_of(request.user)
    endpoint = selectors.endpoint_of(organisation=organisation, endpoint_id=endpoint_id)
    services.endpoint_deactivate(endpoint=endpoint)
    messages.success(request, _("Le point de réception %(url)s est désactivé.") % {"url": endpoint.url})
    return redirect("webhook-endpoints")
