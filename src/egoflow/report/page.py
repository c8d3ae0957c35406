"""HTML building blocks: escaping, tables, embedded images and the page around the sections."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence

STYLE = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #243b55; color: white; padding: 18px 28px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 0; opacity: 0.85; font-size: 13px; }
nav { padding: 10px 28px; background: #e4e8ef; font-size: 13px; }
nav a { margin-right: 14px; color: #243b55; }
main { padding: 8px 28px 40px 28px; }
h2.category { border-bottom: 2px solid #243b55; padding-bottom: 4px; margin-top: 28px; }
section { background: white; border: 1px solid #d8dde6; border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
section h3 { margin: 0 0 6px 0; font-size: 17px; }
.caption, .note, .files { color: #59616e; font-size: 12px; margin: 2px 0 8px 0; }
.note { font-style: italic; }
.scroll { overflow-x: auto; max-width: 100%; }
.stores { display: flex; flex-wrap: wrap; gap: 4px 18px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
th, td { border: 1px solid #d8dde6; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #eef1f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #d8dde6; border-radius: 6px; padding: 8px; width: 420px; background: #fbfcfd; }
.card .frames { display: flex; gap: 6px; }
.card figure { margin: 0; font-size: 11px; color: #59616e; }
.card img { width: 200px; image-rendering: pixelated; border: 1px solid #ccd; }
.card dl { font-size: 12px; margin: 6px 0 0 0; }
.card dt { font-weight: bold; float: left; width: 56px; clear: left; }
.card dd { margin-left: 60px; }
img.figure { max-width: 100%; border: 1px solid #d8dde6; }
pre { background: #f2f4f7; padding: 8px; font-size: 11px; overflow-x: auto; max-height: 300px; }
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


MAX_CELL = 160


def cell(value) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:.4g}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    text = str(value)
    if len(text) > MAX_CELL:  # raw model answers and long paths: the file has them in full
        return f'<td title="{esc(text[:2000])}">{esc(text[:MAX_CELL])}…</td>'
    return f"<td>{esc(text)}</td>"


def table(header: Sequence[str], rows: Iterable[Sequence], *, limit: int = 200) -> str:
    rows = list(rows)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows[:limit])
    more = f'<p class="note">… {len(rows) - limit} more rows not shown</p>' if len(rows) > limit else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def page(title: str, subtitle: str, categories: list[tuple[str, list[tuple[str, str, str]]]]) -> str:
    """categories: [(category, [(section title, kind, section html), ...]), ...] -> the whole document."""
    nav = "".join(f'<a href="#{anchor(c)}">{esc(c)}</a>' for c, _ in categories)
    parts = []
    for category, sections in categories:
        parts.append(f'<h2 class="category" id="{anchor(category)}">{esc(category)}</h2>')
        for section_title, kind, body in sections:
            parts.append(
                f'<section id="{anchor(category + "-" + section_title)}" data-kind="{esc(kind)}">'
                f"<h3>{esc(section_title)}</h3>{body}</section>"
            )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header><nav>{nav}</nav>"
        f"<main>{''.join(parts)}</main></body></html>\n"
    )
