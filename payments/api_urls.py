"""payments API under /api/v1/ (included by portal/api_urls.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
