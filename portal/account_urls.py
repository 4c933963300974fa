from django.urls import path

from portal import account_views, franceconnect

urlpatterns = [
    path("inscription/", account_views.signup, name="signup"),
    path("inscription/envoyee/", account_views.signup_sent, name="signup-sent"),
    path("inscription/confirmer/<str:token>/", account_views.signup_confirm, name="signup-confirm"),
    path("inscription/nouveau-lien/", account_views.signup_resend, name="signup-resend"),
    path("mon-espace/profil/", account_views.profile, name="profile"),
    path("mot-de-passe/oublie/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe/envoye/", account_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/modifie/",
        account_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "franceconnect/connexion/", franceconnect.FranceConnectLoginView.as_view(), name="franceconnect-login"
    ),
    path(
        "franceconnect/retour/",
        franceconnect.FranceConnectCallbackView.as_view(),
        name="franceconnect-callback",
    ),
]
