from django.contrib import admin

from payments.models import PaymentAttempt


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(admin.ModelAdmin):
    """Read-only: attempts move only through payments.services (the provider's notifications)."""

    list_display = ("dossier", "amount", "provider", "status", "created_at", "updated_at")
    list_filter = ("provider", "status")
    search_fields = ("dossier__reference", "session_id")
    list_select_related = ("dossier",)
    raw_id_fields = ("dossier", "started_by")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
