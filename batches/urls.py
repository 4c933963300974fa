"""The dealer's batch pages, under /mon-espace/lots/ (included at the site root)."""

from django.urls import path

from batches import views

urlpatterns = [
    path("mon-espace/lots/", views.batch_list, name="batch-list"),
    path("mon-espace/lots/modele.csv", views.template_csv, name="batch-template-csv"),
    path("mon-espace/lots/modele.xlsx", views.template_xlsx, name="batch-template-xlsx"),
    path("mon-espace/lots/<int:batch_id>/", views.batch_detail, name="batch-detail"),
    path("mon-espace/lots/<int:batch_id>/progression/", views.batch_progress, name="batch-progress"),
    path("mon-espace/lots/<int:batch_id>/erreurs.csv", views.batch_errors_csv, name="batch-errors"),
    path("mon-espace/lots/<int:batch_id>/cpi.zip", views.batch_cpi_zip, name="batch-cpis"),
    path(
        "mon-espace/lots/<int:batch_id>/accuse-de-depot.pdf",
        views.batch_acknowledgement,
        name="batch-acknowledgement",
    ),
]
