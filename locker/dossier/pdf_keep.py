"""No page of a dossier carries only a line or two before a page break.

A part of a dossier ends where the next starts on a new page. Laid out line by line, its last
paragraph (a method note, a formula) or the last rows of its last table may spill onto a page
of their own: one line at the top of an otherwise blank page, which reads as a blank page and
as if something were missing. `KeepTail` holds the flowables between two page breaks and lays
them out so that the page they end on carries at least `min_height` of them: where the
natural cut would leave less, the page before gives up its last lines or rows to go with
them (a paragraph or a table is split earlier; anything else moves whole).

reportlab's own tools do not do this: allowWidows moves one line only, KeepTogether moves a
whole group (a page of table with it) or nothing, and CondPageBreak knows nothing of what
follows."""

from __future__ import annotations

from reportlab.platypus import Flowable, KeepTogether, PageBreak, Paragraph, Table
from reportlab.platypus.doctemplate import NullActionFlowable

# Within this much a flowable counts as fitting (reportlab's frames allow 1e-8; heights here
# are sums of floats, so the cut stays safely inside the frame).
_FUZZ = 0.5


def _height(flowable: Flowable, canvas: object, width: float, room: float) -> float:
    _w, height = flowable.wrapOn(canvas, width, room)
    if isinstance(flowable, KeepTogether):
        height = flowable._H  # its wrap reports an endless height to force a split
    return float(height)


class KeepTail(Flowable):
    """Flowables laid out as usual, except that the last page they reach gets at least
    `min_height` of them (or all of them, when they are shorter)."""

    def __init__(self, content: list[Flowable], min_height: float) -> None:
        super().__init__()
        self.content = content
        self.min_height = min_height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        # Like KeepTogether: too tall to be drawn as one, so the frame asks for split().
        return availWidth, 0xFFFFFF

    def draw(self) -> None:
        raise AssertionError("a KeepTail is split before it is drawn")

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        frame = getattr(self, "_frame", None)
        at_top = bool(frame is not None and frame._atTop)
        content = self.content
        # The height of an empty page.
        page = (
            frame._height - frame._topPadding - frame._bottomPadding
            if frame is not None
            else availHeight
        )
        if at_top and content and isinstance(content[0], KeepTogether):
            # A group taller than a page cannot move whole: its members are laid out one by
            # one (as KeepTogether itself does at the top of a frame).
            first = content[0]
            if _height(first, self.canv, availWidth, availHeight) > availHeight:
                content = [*first._content, *content[1:]]
        taken, rest, used = self._cut(content, availWidth, availHeight, page=page)
        if not rest:
            return [NullActionFlowable(), *taken]
        spill = self._measure(rest, availWidth)
        if spill < self.min_height:
            # The last page would carry less than min_height: this page keeps less.
            fewer, more, _used = self._cut(
                content, availWidth, used - (self.min_height - spill), page=page
            )
            if fewer:
                taken, rest = fewer, more
            elif not at_top:
                return []  # all of it on the next page, where it gets a page's room
        if not taken:
            # At the top of a page and nothing fits: reportlab's own layout takes over (it
            # splits or reports what is too large, as it would have without this).
            return [NullActionFlowable(), *content]
        # The frame adds the first flowable returned at once, without a split: the null action
        # first lets a group (KeepTogether) among them be laid out as usual.
        return [NullActionFlowable(), *taken, PageBreak(), KeepTail(rest, self.min_height)]

    def _cut(
        self, content: list[Flowable], width: float, room: float, *, page: float
    ) -> tuple[list[Flowable], list[Flowable], float]:
        """The flowables that fit in `room` (the one crossing it split where it can be), the
        rest, and the height taken."""
        taken: list[tuple[Flowable, float]] = []  # each with the height it takes
        used = 0.0
        rest: list[Flowable] = []
        for index, flowable in enumerate(content):
            before = flowable.getSpaceBefore()  # counted even at the top: a little safer
            left = room - used - before
            height = _height(flowable, self.canv, width, max(left, 0.0)) if left > 0 else 0.0
            if left > 0 and height <= left - _FUZZ:
                taken.append((flowable, before + height + flowable.getSpaceAfter()))
                used += taken[-1][1]
                continue
            rest = content[index:]
            # The last paragraph (a note, a formula) moves whole rather than leave part of
            # itself behind, unless even a page cannot hold it.
            whole = index == len(content) - 1 and isinstance(flowable, Paragraph)
            whole = whole and height <= page - _FUZZ
            if isinstance(flowable, Paragraph | Table) and left - _FUZZ > 0 and not whole:
                parts = flowable.splitOn(self.canv, width, left - _FUZZ)
                if len(parts) >= 2:
                    first = parts[0]
                    taken.append((first, before + _height(first, self.canv, width, left)))
                    used += taken[-1][1]
                    rest = [*parts[1:], *content[index + 1 :]]
            break
        # A heading (keepWithNext) never ends a page: it goes with what it introduces.
        while rest and taken and taken[-1][0].getKeepWithNext():
            last, height = taken.pop()
            rest = [last, *rest]
            used -= height
        return [flowable for flowable, _h in taken], list(rest), used

    def _measure(self, rest: list[Flowable], width: float) -> float:
        """The height of `rest`, counted only up to min_height (a long table is wrapped only
        as far as that)."""
        total = 0.0
        for flowable in rest:
            total += flowable.getSpaceBefore() + _height(
                flowable, self.canv, width, self.min_height
            )
            if total >= self.min_height:
                break
        return total
