"""Draw the looks' icons (locker/core/looks.py) as SVG and as PNG at 192 and 512 px, into
static/locker/looks/. The files are committed; run this again only to change a drawing:

    .venv/bin/python tools/draw_icons.py

Each icon is a few plain shapes on a full square of colour, drawn on a 512 grid, everything
inside the middle 80 % so that a launcher's round or squircle mask ("maskable") cuts nothing.
The PNGs are drawn four times larger and scaled down, for smooth edges."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "locker" / "looks"
WHITE, GREY, DARK = "#ffffff", "#9aa0a6", "#202124"

# ("rect", x0, y0, x1, y1, radius, fill) | ("circle", cx, cy, r, fill)
# | ("line", [(x, y), ...], width, colour)   (round ends and joints)
Shape = tuple
ICONS: dict[str, tuple[str, list[Shape]]] = {
    "notes": (
        "#f2b705",
        [
            ("rect", 150, 110, 362, 402, 22, WHITE),
            *[("line", [(188, y), (324, y)], 16, GREY) for y in (180, 232, 284)],
            ("line", [(188, 336), (270, 336)], 16, GREY),
        ],
    ),
    "calendar": (
        "#d93025",
        [
            ("rect", 126, 146, 386, 390, 26, WHITE),
            ("rect", 126, 146, 386, 214, 26, "#a52714"),
            ("rect", 126, 190, 386, 214, 0, "#a52714"),
            ("line", [(190, 120), (190, 168)], 22, WHITE),
            ("line", [(322, 120), (322, 168)], 22, WHITE),
            *[("rect", x, y, x + 40, y + 34, 6, GREY) for y in (240, 296) for x in (160, 236, 312)],
            ("rect", 160, 344, 200, 372, 6, GREY),
            ("rect", 236, 344, 276, 372, 6, "#d93025"),
        ],
    ),
    "calculator": (
        "#3c4043",
        [
            ("rect", 160, 106, 352, 406, 26, "#e8eaed"),
            ("rect", 186, 132, 326, 196, 10, DARK),
            *[
                ("rect", x, y, x + 36, y + 36, 8, "#f29900" if (x, y) == (290, 340) else GREY)
                for y in (220, 280, 340)
                for x in (186, 238, 290)
            ],
        ],
    ),
    "weather": (
        "#1a73e8",
        [
            ("circle", 300, 200, 74, "#fbbc04"),
            ("circle", 214, 296, 62, WHITE),
            ("circle", 290, 278, 74, WHITE),
            ("circle", 350, 318, 46, WHITE),
            ("rect", 152, 300, 396, 364, 32, WHITE),
        ],
    ),
    "locker": (
        "#1f3a5f",
        [
            ("line", [(206, 170), (206, 134), (306, 134), (306, 170)], 24, WHITE),
            ("rect", 136, 160, 376, 392, 30, WHITE),
            ("line", [(196, 276), (240, 320), (320, 232)], 30, "#1f3a5f"),
        ],
    ),
}


def svg(background: str, shapes: list[Shape]) -> str:
    parts = [f'<rect width="512" height="512" fill="{background}"/>']
    for shape in shapes:
        if shape[0] == "rect":
            _k, x0, y0, x1, y1, r, fill = shape
            parts.append(
                f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="{r}" '
                f'fill="{fill}"/>'
            )
        elif shape[0] == "circle":
            _k, cx, cy, r, fill = shape
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{fill}"/>')
        else:
            _k, points, width, colour = shape
            line = " ".join(f"{x},{y}" for x, y in points)
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" '
                f'stroke-width="{width}" stroke-linecap="round" stroke-linejoin="round"/>'
            )
    body = "".join(parts)
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">{body}</svg>\n'


def png(background: str, shapes: list[Shape], size: int) -> Image.Image:
    scale = size * 4 / 512
    big = Image.new("RGB", (size * 4, size * 4), background)
    draw = ImageDraw.Draw(big)

    def s(v: float) -> float:
        return v * scale

    for shape in shapes:
        if shape[0] == "rect":
            _k, x0, y0, x1, y1, r, fill = shape
            draw.rounded_rectangle((s(x0), s(y0), s(x1), s(y1)), radius=s(r), fill=fill)
        elif shape[0] == "circle":
            _k, cx, cy, r, fill = shape
            draw.ellipse((s(cx - r), s(cy - r), s(cx + r), s(cy + r)), fill=fill)
        else:
            _k, points, width, colour = shape
            scaled = [(s(x), s(y)) for x, y in points]
            draw.line(scaled, fill=colour, width=round(s(width)), joint="curve")
            for x, y in scaled:  # round ends
                half = s(width) / 2
                draw.ellipse((x - half, y - half, x + half, y + half), fill=colour)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (background, shapes) in ICONS.items():
        (OUT / f"{name}.svg").write_text(svg(background, shapes), encoding="utf-8")
        for size in (192, 512):
            image = png(background, shapes, size).quantize(colors=64)
            image.save(OUT / f"{name}-{size}.png", optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
