"""Pages of a dealer organisation: its staff, invitations and API tokens. Thin: the writes are
portal.organisation's. Anyone but a dealer gets a 404; a dealer who is not an admin of the
organisation sees the lists and gets a 403 on every change."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from dossiers.errors import InvalidInput
from portal import organisation
from portal.models import OrganisationInvitation, OrganisationToken, Role, User
from portal.organisation_forms import InvitationAcceptForm, InvitationForm, TokenForm


def _dealer(request: HttpRequest, *, admin: bool = False) -> User:
    """The signed-in dealer; 404 for any other role, 403 for a change by a non-admin."""
    user: User = request.user
    if user.role != Role.DEALER or user.organisation_id is None:
        raise Http404
    if admin and not user.is_organisation_admin:
        raise PermissionDenied(_("Seul un administrateur de l'organisation peut faire cette modification."))
    return user


def _add_errors(form, exc: InvalidInput) -> None:
    for error in exc.errors:
        form.add_error(error.field if error.field in form.fields else None, error.message)


@never_cache
@login_required
def staff(request: HttpRequest) -> HttpResponse:
    """The staff list and pending invitations; an admin invites from here (POST)."""
    user = _dealer(request, admin=request.method == "POST")
    form = InvitationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = organisation.invitation_create(
                organisation=user.organisation, invited_by=user, email=form.cleaned_data["email"]
            )
        except InvalidInput as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Invitation envoyée à %(email)s : le lien est valable %(days)d jours.")
                % {"email": invitation.email, "days": organisation.INVITATION_DAYS},
            )
            return redirect("organisation-staff")
    return render(
        request,
        "portal/organisation/staff.html",
        {
            "organisation": user.organisation,
            "is_admin": user.is_organisation_admin,
            "staff": organisation.organisation_staff(organisation=user.organisation),
            "invitations": organisation.invitations_pending(organisation=user.organisation),
            "form": form,
        },
    )


@never_cache
@login_required
def staff_remove(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET: what removing the member does, and a button; POST: remove them."""
    user = _dealer(request)
    member = get_object_or_404(organisation.organisation_staff(organisation=user.organisation), pk=user_id)
    _dealer(request, admin=True)
    refusal = ""
    if request.method == "POST":
        try:
            organisation.staff_remove(organisation=user.organisation, actor=user, user_id=member.pk)
        except organisation.RemovalRefused as exc:
            refusal = str(exc)
        except User.DoesNotExist:
            raise Http404 from None
        else:
            messages.success(
                request, _("%(name)s n'a plus accès à l'organisation.") % {"name": member.get_full_name()}
            )
            return redirect("organisation-staff")
    tokens = organisation.organisation_tokens(organisation=user.organisation).filter(
        created_by=member, revoked_at__isnull=True
    )
    return render(
        request,
        "portal/organisation/staff_remove.html",
        {"member": member, "tokens": tokens, "refusal": refusal, "is_self": member.pk == user.pk},
        status=409 if refusal else 200,
    )


@require_POST
@login_required
def invitation_cancel(request: HttpRequest, invitation_id: int) -> HttpResponse:
    user = _dealer(request)
    get_object_or_404(organisation.invitations_pending(organisation=user.organisation), pk=invitation_id)
    _dealer(request, admin=True)
    try:
        invitation = organisation.invitation_cancel(
            organisation=user.organisation, invitation_id=invitation_id
        )
    except OrganisationInvitation.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("L'invitation de %(email)s est annulée.") % {"email": invitation.email})
    return redirect("organisation-staff")


@sensitive_post_parameters("password1", "password2")
@never_cache
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed link: the invitee chooses their name and password and becomes a dealer, once."""
    found = organisation.invitation_find(token=token)
    if found.status != "valid":
        return _invitation_failed(request, found.status)
    form = InvitationAcceptForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = organisation.invitation_accept(
            token=token,
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            password=form.cleaned_data["password1"],
        )
        if result.status != "accepted":
            return _invitation_failed(request, result.status)
        messages.success(
            request,
            _("Votre compte professionnel est créé. Connectez-vous avec %(email)s et votre mot de passe.")
            % {"email": result.invitation.email},
        )
        return redirect("login")
    return render(
        request, "portal/organisation/invitation.html", {"form": form, "invitation": found.invitation}
    )


def _invitation_failed(request: HttpRequest, status: str) -> HttpResponse:
    code = {"expired": 410, "used": 409}.get(status, 400)
    return render(request, "portal/organisation/invitation_failed.html", {"status": status}, status=code)


@never_cache
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """The organisation's tokens; an admin creates one here (POST), its secret shown on this answer only."""
    user = _dealer(request, admin=request.method == "POST")
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = organisation.organisation_token_issue(
                organisation=user.organisation, created_by=user, name=form.cleaned_data["name"]
            )
        except InvalidInput as exc:
            _add_errors(form, exc)
        else:
            # Rendered, not redirected: the secret exists only in this answer (never_cache).
            return render(
                request, "portal/organisation/token_created.html", {"token": token, "secret": secret}
            )
    return render(
        request,
        "portal/organisation/tokens.html",
        {
            "organisation": user.organisation,
            "is_admin": user.is_organisation_admin,
            "tokens": organisation.organisation_tokens(organisation=user.organisation),
            "form": form,
        },
    )


@never_cache
@login_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """GET: a confirmation page; POST: revoke (the API refuses the token from the next request)."""
    user = _dealer(request)
    token = get_object_or_404(organisation.organisation_tokens(organisation=user.organisation), pk=token_id)
    _dealer(request, admin=True)
    if request.method == "POST":
        try:
            organisation.organisation_token_revoke(organisation=user.organisation, token_id=token.pk)
        except OrganisationToken.DoesNotExist:
            raise Http404 from None
        messages.success(request, _("Le jeton « %(name)s » est révoqué.") % {"name": token.name})
        return redirect("organisation-tokens")
    return render(request, "portal/organisation/token_revoke.html", {"token": token})
