"""{% first_steps_panel %}: the admin index's "Primeros pasos" (reception.first_steps)."""

from __future__ import annotations

from typing import Any

from django import template

from reception.first_steps import first_steps

register = template.Library()


@register.inclusion_tag("admin/_first_steps.html", takes_context=True)
def first_steps_panel(context: dict[str, Any]) -> dict[str, Any]:
    return {"steps": first_steps(context["request"].user)}
