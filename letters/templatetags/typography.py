"""Template filters of French typography: `{% load typography %}{% filter french_spacing %}…{% endfilter %}`."""

from __future__ import annotations

from django import template

from letters import typography

register = template.Library()


@register.filter
def french_spacing(text: str) -> str:
    """Non-breaking spaces before « : ; ! ? » and inside « » (letters.typography.french_spacing)."""
    return typography.french_spacing(str(text))
