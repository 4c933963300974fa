from django.contrib import admin

from webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "organisation", "active", "created_at")
    list_filter = ("active",)
    # The secret is never shown again after creation, not even here.
    exclude = ("secret",)
    readonly_fields = ("organisation", "url", "created_by", "created_at", "deactivated_at")
    search_fields = ("url", "organisation__name")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "endpoint", "state", "attempts", "last_status_code", "created_at")
    list_filter = ("state", "event_type")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
