"""Page panels: a page shows what other apps add to it without loading their template tags.

A page owned low in the layers (the case page's template is release's) may not load a tag of
a higher app (retention). Instead the higher app registers a panel for a slot in its
``AppConfig.ready()`` (NetBox's ``PluginTemplateExtension`` in small)::

    register_panel("case", "retention/case_panel.html", case_panel)

and the page renders every panel of the slot, in registration order::

    {% load panels %}{% panels "case" case %}

``context_fn(request, obj) -> dict`` builds the panel's context; the page has already checked
that the user may see ``obj``. The panel template is rendered like an inclusion tag: with the
page's autoescaping and its ``csrf_token``. With no panel registered for a slot the page shows
nothing there. This module imports no app (it is outside the layers, like ``http``)."""

from __future__ import annotations

from typing import Callable

from django import template
from django.utils.safestring import mark_safe

_PANELS: dict[str, list[tuple[str, Callable]]] = {}

register = template.Library()


def register_panel(slot: str, template_name: str, context_fn: Callable) -> None:
    """Show ``template_name`` with ``context_fn(request, obj)`` where a page renders ``slot``."""
    entries = _PANELS.setdefault(slot, [])
    if all(name != template_name for name, _ in entries):  # ready() may run more than once
        entries.append((template_name, context_fn))


def registered(slot: str) -> list[str]:
    """The template names registered for ``slot``, in the order the page shows them."""
    return [name for name, _ in _PANELS.get(slot, ())]


@register.simple_tag(takes_context=True)
def panels(context, slot: str, obj):
    request = context["request"]
    out = []
    for name, context_fn in _PANELS.get(slot, ()):
        values = context_fn(request, obj)
        csrf_token = context.get("csrf_token")
        if csrf_token is not None:
            values["csrf_token"] = csrf_token
        out.append(context.template.engine.get_template(name).render(context.new(values)))
    return mark_safe("".join(out))
