from django.urls import path

from batches import api

urlpatterns = [
    path("batches/", api.BatchListCreateApi.as_view(), name="api-batches"),
    path("batches/<int:batch_id>/", api.BatchDetailApi.as_view(), name="api-batch-detail"),
    path("batches/<int:batch_id>/rows/", api.BatchRowsApi.as_view(), name="api-batch-rows"),
    path("batches/<int:batch_id>/errors.csv", api.BatchErrorsCsvApi.as_view(), name="api-batch-errors"),
    path("batches/<int:batch_id>/cpi.zip", api.BatchCpiZipApi.as_view(), name="api-batch-cpis"),
    path(
        "batches/<int:batch_id>/acknowledgement.pdf",
        api.BatchAcknowledgementApi.as_view(),
        name="api-batch-acknowledgement",
    ),
]
