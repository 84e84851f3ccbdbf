from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from locker.core import chain, labels
from locker.core.money import format_minor
from locker.infra.thumbs import IMAGE_TYPES

register = template.Library()


# The names come from the one list in locker.core.labels, which the dossiers use too.
kind_label = register.filter("kind_label", labels.kind_label)
tag_label = register.filter("tag_label", labels.tag_label)
field_label = register.filter("field_label", labels.field_label)


@register.filter
def money(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return format_minor(value)
    return ""


@register.filter
def short(value: Any) -> str:
    return str(value)[:12]


# A certificate's fingerprint in blocks of four, as /keys, receipts and dossiers print it.
fingerprint_groups = register.filter("fingerprint_groups", chain.fingerprint_groups)


@register.filter
def is_image(media_type: Any) -> bool:
    return str(media_type) in IMAGE_TYPES


@register.filter
def is_audio(media_type: Any) -> bool:
    return str(media_type).startswith("audio/")


@register.filter
def duration(seconds: Any) -> str:
    if not isinstance(seconds, int):
        return ""
    return f"{seconds // 60}:{seconds % 60:02d}"


@register.filter
def file_size(size: Any) -> str:
    if not isinstance(size, int):
        return ""
    if size < 1024 * 1024:
        return f"{max(1, size // 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@register.simple_tag
def body_value(name: str, value: Any) -> str:
    """A body member's value as a person reads it: names for machine words, minutes for
    durations, yuan for minor units, the list for tags."""
    if name == "direction":
        return labels.label(labels.DIRECTION_LABELS, value)
    if name == "channel":
        return labels.label(labels.CHANNEL_LABELS, value)
    if name == "reason" and str(value) in labels.REDACTION_REASON_LABELS:
        return labels.label(labels.REDACTION_REASON_LABELS, value)
    if name == "duration_s":
        return duration(value) or "—"
    if name == "tags" and isinstance(value, list):
        return _(", ").join(tag_label(t) for t in value) if value else "—"
    if name.endswith("_minor"):
        return money(value)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k)}: {body_value(k, v)}" for k, v in value.items())
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


@register.simple_tag(takes_context=True)
def author_label(context: template.Context, author: Any) -> str:
    text = str(author)
    user = context.get("user")
    if text.startswith("contact-link:"):
        return _("a contact, through a statement link")
    if user is not None and text == f"user:{user.pk}":
        return _("you")
    if text.startswith("token:"):
        return _("an app using your account (API)")
    case = context.get("case")
    if case is not None and text == f"user:{case.owner_id}":
        # Seen by a lawyer the case is shared with: the owner is their client.
        return _("the client")
    return text
