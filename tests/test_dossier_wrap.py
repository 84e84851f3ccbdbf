"""Paragraphs break their lines once per width (pdf_layout._Paragraph): a second wrap at the
same width gives the first one's size, another width breaks them again, and a split that
found no room (reportlab then drops the lines) leaves a paragraph that still draws."""

from __future__ import annotations

import io

from reportlab.pdfgen.canvas import Canvas

from locker.dossier.pdf_layout import make_styles, para

TEXT = "催收员多次来电，威胁要爆通讯录，并且辱骂借款人的家人和同事。" * 4


def test_a_second_wrap_at_the_same_width_breaks_no_lines_again() -> None:
    paragraph = para(TEXT, make_styles().cell)
    first = paragraph.wrap(120, 1000)
    lines = paragraph.blPara
    assert paragraph.wrap(120, 1000) == first and paragraph.blPara is lines
    wider = paragraph.wrap(300, 1000)
    assert wider[1] < first[1] and paragraph.blPara is not lines


def test_a_paragraph_whose_split_found_no_room_still_draws() -> None:
    paragraph = para(TEXT, make_styles().cell)
    size = paragraph.wrap(120, 1000)
    assert paragraph.split(120, 5) == []  # no room for two lines: reportlab drops them
    assert paragraph.wrap(120, 1000) == size
    canvas = Canvas(io.BytesIO())
    paragraph.drawOn(canvas, 0, 0)  # broke with "no attribute 'blPara'" before the fix
