"""Small template helpers: navigation links that know the current section, health states, JSON."""

from __future__ import annotations

import json

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context: template.Context, url_name: str, label: str, sections: str) -> str:
    """A nav link, marked `aria-current="page"` when the current view's name starts with one of `sections`."""
    match = getattr(context.get("request"), "resolver_match", None)
    current = match.url_name if match else ""
    here = any(current.startswith(section) for section in sections.split())
    return format_html(
        '<a href="{}"{}>{}</a>', reverse(url_name), mark_safe(' aria-current="page"') if here else "", label
    )


@register.filter
def tile_state(upstream: object) -> str:
    """ok / warn / bad / empty for an upstream annotated by `webui.queries.with_health_counts`."""
    total, in_rotation = getattr(upstream, "server_total", 0), getattr(upstream, "in_rotation", 0)
    if not total:
        return "empty"
    if not in_rotation or getattr(upstream, "fail_open", False):
        return "bad"
    return "warn" if in_rotation < total else "ok"


@register.filter
def pretty_json(value: object) -> str:
    """Audit snapshots, indented for reading (the template escapes the result)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
