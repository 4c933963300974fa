"""Template filters that print a stored code as people read it (portal.labels): `{% load labels %}`,
then `{{ check.code|check_label }}`, `{{ event.actor_role|role_label }}`, `{{ name|field_label }}`,
`{{ "y1"|fee_label }}`, `{{ vehicle.mass_kg|measure:"mass_kg" }}`."""

from typing import Any

from django import template

from portal import labels

register = template.Library()


@register.filter
def check_label(code: str) -> str:
    return labels.check_label(code)


@register.filter
def role_label(role: str) -> str:
    return labels.role_label(role)


@register.filter
def field_label(name: str) -> str:
    return labels.field_label(name)


@register.filter
def fee_label(name: str) -> str:
    return labels.fee_label(name)


@register.filter
def measure(value: Any, name: str) -> str:
    return labels.measure(value, name)


@register.filter
def payment_provider_label(name: str) -> str:
    return labels.payment_provider_label(name)
