from django.urls import path

from portal import organisation_views

urlpatterns = [
    path("mon-espace/organisation/", organisation_views.staff, name="organisation-staff"),
    path(
        "mon-espace/organisation/membres/<int:user_id>/retirer/",
        organisation_views.staff_remove,
        name="organisation-staff-remove",
    ),
    path(
        "mon-espace/organisation/invitations/<int:invitation_id>/annuler/",
        organisation_views.invitation_cancel,
        name="organisation-invitation-cancel",
    ),
    path("mon-espace/organisation/jetons/", organisation_views.token_list, name="organisation-tokens"),
    path(
        "mon-espace/organisation/jetons/<int:token_id>/revoquer/",
        organisation_views.token_revoke,
        name="organisation-token-revoke",
    ),
    path("invitation/<str:token>/", organisation_views.invitation_accept, name="organisation-invitation"),
]
