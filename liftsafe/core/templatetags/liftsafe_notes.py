"""``{{ text|platform_note }}``: a stored platform note (audit reason, lifecycle or milestone note) in the reader's
language (:func:`liftsafe.core.messages.render`); a person's own text unchanged."""
from django import template

from liftsafe.core.messages import render

register = template.Library()


@register.filter(name="platform_note")
def platform_note(value) -> str:
    return render(value or "")
