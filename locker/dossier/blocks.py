"""What a dossier template is made of: sections of plain-text blocks (in the active
language, not yet escaped) and markers for the parts the renderer draws from the data.
render.py lays them out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Para:
    text: str
    style: str = "body"


@dataclass
class KeyValues:
    items: list[tuple[str, str]]


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Grid:
    header: list[str]
    rows: list[list[str]]
    widths: list[float]  # fractions of the frame width


@dataclass
class Marker:
    """A part render.py draws from the data: charts, timeline, statements, evidence,
    exhibit_index, access_log, verification."""

    name: str


Block = Para | KeyValues | Bullets | Grid | Marker


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = False
