"""Pages of citizen accounts: sign-up, confirmation, password reset, profile. Thin: the writes are
portal.accounts'."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from dossiers.errors import InvalidInput
from portal import accounts
from portal.forms import EmailForm, PortalPasswordResetForm, PortalSetPasswordForm, ProfileForm, SignupForm
from portal.franceconnect import franceconnect_enabled
from portal.models import User
from portal.views import landing_url


@sensitive_post_parameters("password1", "password2")
@never_cache
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(landing_url(user=request.user))
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        accounts.account_signup(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
        )
        # The same page whether the address was new or not: nothing says an account exists.
        request.session["signup_email"] = form.cleaned_data["email"]
        return redirect("signup-sent")
    return render(
        request, "portal/signup.html", {"form": form, "franceconnect_enabled": franceconnect_enabled()}
    )


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/signup_sent.html", {"email": request.session.get("signup_email", "")})


@never_cache
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Following the mailed link confirms the address (GET: a link in a mail is a GET)."""
    result = accounts.account_email_confirm(token=token)
    if result.status == "confirmed":
        messages.success(request, _("Votre adresse électronique est confirmée. Vous pouvez vous connecter."))
        return redirect("login")
    status = 410 if result.status == "expired" else 200 if result.status == "already" else 400
    return render(request, "portal/signup_confirm_failed.html", {"status": result.status}, status=status)


@never_cache
def signup_resend(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        accounts.confirmation_resend(email=form.cleaned_data["email"])
        request.session["signup_email"] = form.cleaned_data["email"]
        return redirect("signup-sent")
    return render(request, "portal/signup_resend.html", {"form": form})


@never_cache  # personal data
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    readonly = accounts.FRANCECONNECT_FIELDS if user.franceconnect_sub else ()
    initial = {name: getattr(user, name) for name in accounts.PROFILE_FIELDS}
    if user.birth_date:
        initial["birth_date"] = user.birth_date.strftime("%d/%m/%Y")
    form = ProfileForm(request.POST if request.method == "POST" else None, initial=initial, readonly=readonly)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.profile_update(user=user, data=form.cleaned_data, phone=form.cleaned_data["phone"])
        except InvalidInput:  # the form ran the same checks; kept so nothing half-written can pass
            form.add_error(None, _("Le profil n'a pas pu être enregistré."))
        else:
            messages.success(request, _("Votre profil est enregistré."))
            return redirect("profile")
    return render(
        request, "portal/profile.html", {"form": form, "franceconnect": bool(user.franceconnect_sub)}
    )


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PortalPasswordResetForm
    template_name = "portal/password_reset.html"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = PortalSetPasswordForm
    template_name = "portal/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "portal/password_reset_complete.html"
