from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# What the template engine converts a datetime with before a filter sees it (untyped in the stubs).
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import gettext as _

from locker.core import chain, labels, loan_cost
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


duration = register.filter("duration", labels.duration_text)


@register.filter
def file_size(size: Any) -> str:
    if not isinstance(size, int):
        return ""
    if size < 1024 * 1024:
        return f"{max(1, size // 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# A body member's value as a person reads it (the one wording, which the dossiers use too).
body_value = register.simple_tag(name="body_value")(labels.value_label)


@register.simple_tag(takes_context=True)
def author_label(context: template.Context, entry: Any) -> str:
    """Who made the entry (locker.core.labels.author_label, the dossiers' wording too), as
    the signed-in reader sees it: their own records are "you"."""
    user = context.get("user")
    case = context.get("case")
    return labels.author_label(
        entry.author,
        body=entry.body,
        owner_id=case.owner_id if case is not None else None,
        viewer_id=user.pk if user is not None and user.is_authenticated else None,
    )


@register.filter
def by_someone_else(entry: Any, case: Any) -> bool:
    """Whether the entry was made by someone other than the case's owner (a contact through
    their link, a capture device): the timeline marks those rows with their author."""
    author = str(entry.author)
    owner = f"{labels.AUTHOR_USER}{case.owner_id}"
    return author != owner and not author.startswith(labels.AUTHOR_TOKEN)


@register.simple_tag
def day_bars(chart: Any) -> str:
    """The days chart's bars as SVG, built here rather than by a template loop: a case of a
    year has hundreds of bars, and a loop through the template engine (each number localised
    on its own) was most of the case page's time (docs/scale.md, "Pages")."""
    parts = []
    for bar in chart.bars:
        # Numbers (floats from core.charts) need no escaping; the label is escaped.
        parts.append(f"<g><title>{conditional_escape(bar.label)}</title>")
        if bar.calls_h:
            parts.append(
                f'<rect x="{bar.x}" y="{bar.calls_y}" width="{bar.width}" '
                f'height="{bar.calls_h}" class="calls"/>'
            )
        if bar.messages_h:
            parts.append(
                f'<rect x="{bar.x}" y="{bar.messages_y}" width="{bar.width}" '
                f'height="{bar.messages_h}" class="messages"/>'
            )
        parts.append("</g>")
    return mark_safe("".join(parts))  # noqa: S308 - the only text in it is escaped


@register.simple_tag
def hour_bars(chart: Any) -> str:
    """The hours chart's bars as SVG, as the template loop wrote them (one rect, with its
    title, per hour that had contacts): built here for the reason day_bars is (each number
    localised on its own through the template engine cost several milliseconds a view).
    Numbers are ints and floats rounded by core.charts, written as the template wrote them
    (both languages use "." and no grouping); nothing in it is text."""
    parts = []
    for bar in chart.bars:
        if bar.count:
            kind = "night" if bar.night else "day"
            parts.append(
                f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}" '
                f'class="{kind}"><title>{bar.hour}:00–{bar.hour}:59: {bar.count}</title></rect>'
            )
    return mark_safe("".join(parts))  # noqa: S308 - numbers only


@register.simple_tag(takes_context=True)
def entry_time(context: template.Context, entry: Any) -> SafeString:
    """An entry's <time>: when it happened (else when it was recorded) in the viewer's zone,
    its datetime attribute ISO 8601 and its text "Y-m-d H:i", exactly as the `date` filter
    prints them. Built here because the two `date` filters per row were half of the
    timeline's rendering time (docs/scale.md, "Pages")."""
    when = template_localtime(entry.occurred_at or entry.recorded_at, context.use_tz)
    text = f"{when.year:04d}-{when.month:02d}-{when.day:02d} {when.hour:02d}:{when.minute:02d}"
    return format_html('<time datetime="{}">{}</time>', when.isoformat(), text)


@register.simple_tag(takes_context=True)
def entry_row(context: template.Context, entry: Any) -> SafeString:
    """One timeline row (the timeline, the case page's latest): the kind, when, seq, what it
    says (templates/locker/_entry_text.html), who recorded it if not the owner, its tags, a
    link to its page, and a thumbnail or icon per file. Built here rather than by an
    included template: through the template engine, 30 rows were most of the timeline's
    rendering time (docs/scale.md, "Pages"). The markup is the template's as it was.
    Needs `case` in the context."""
    case = context["case"]
    link = reverse("entry_detail", args=[case.pk, entry.seq])
    assert context.template is not None  # a tag is rendered inside a template
    engine = context.template.engine
    with context.push(entry=entry):
        text = _template(engine, "locker/_entry_text.html").render(context)
    author = ""
    if by_someone_else(entry, case):
        author = format_html(
            '<span class="entry-author">{}: {}</span>',
            _("Recorded by"),
            author_label(context, entry),
        )
    tags = ""
    if entry.tags:
        tags = format_html(
            '<span class="tags">{}</span>',
            format_html_join(
                "", '<span class="tag">{}</span>', ((labels.tag_label(t),) for t in entry.tags)
            ),
        )
    files = ""
    if entry.evidence:
        files = format_html(
            '<span class="thumbs">{}</span>',
            format_html_join(
                "",
                "{}",
                (
                    (_file_item(context, engine, case, link, n, item),)
                    for n, item in enumerate(entry.evidence, 1)
                ),
            ),
        )
    return format_html(
        '\n<li class="entry kind-{}{}">\n'
        '  <a class="entry-link" href="{}">\n'
        '    <span class="entry-head"><span class="kind">{}</span>\n'
        "      {}\n"
        '      <span class="seq">#{}</span></span>\n'
        "    {}\n"
        "    {}\n"
        "    {}\n"
        "  </a>\n"
        "  {}\n"
        "</li>\n",
        entry.kind,
        " erased" if entry.erased_at else "",
        link,
        labels.kind_label(entry.kind),
        entry_time(context, entry),
        entry.seq,
        text,
        author,
        tags,
        files,
    )


def _file_item(
    context: template.Context, engine: Any, case: Any, link: str, number: int, item: Any
) -> str:
    """A row's file: a thumbnail linking to it on the entry's page, else an icon."""
    if is_image(item.get("media_type")):
        return format_html(
            '<a href="{}#file-{}"><img src="{}" alt="{}" loading="lazy" width="60" '
            'height="90"></a>',
            link,
            number,
            reverse("evidence_derived", args=[case.pk, item.get("sha256"), "thumb"]),
            item.get("name", ""),
        )
    with context.push(name="audio" if is_audio(item.get("media_type")) else "file"):
        icon = _template(engine, "locker/_icon.html").render(context)
    return format_html('<span class="file-icon" title="{}">{}</span>', item.get("name", ""), icon)


def _template(engine: Any, name: str) -> Any:
    """A template of the engine rendering the row, compiled once (its cached loader)."""
    return engine.get_template(name)


@register.filter
def pct(value: Any) -> str:
    """A rate as a fraction (Decimal) in percent with two decimals: 19.08 -> "1,908.00"."""
    return loan_cost.percent(value) if value is not None else "—"


payment_label = register.filter(
    "payment_label", lambda value: labels.label(labels.PAYMENT_LABELS, value)
)
payment_status = register.filter(
    "payment_status", lambda value: labels.label(labels.PAYMENT_STATUS_LABELS, value)
)
