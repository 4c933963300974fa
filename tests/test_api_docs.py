"""/api/docs/: Swagger UI in a French page of ours, under the site's Content-Security-Policy (its
accessibility is checked in Chromium by tests/test_browser_site_a11y.py); /api/schema/ unchanged."""

import re

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_api_docs_page_is_french_and_loads_only_same_origin_scripts_under_the_csp(client):
    response = client.get(reverse("api-docs"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr"' in html and "<title>Documentation de l'API" in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all('src="/' in tag for tag in scripts)  # files of the site, no inline code
    schema = client.get(reverse("schema"))
    assert schema.status_code == 200 and b"openapi: 3" in schema.content
