"""``{% load policy %}{% if user|can:"retention.manage" %}``: the UI asks access.policy,
never a role name. A pure check (no audit): the view behind the link checks again."""

from django import template

from ..policy import allowed

register = template.Library()


@register.filter
def can(user, perm: str) -> bool:
    return allowed(user, perm)
