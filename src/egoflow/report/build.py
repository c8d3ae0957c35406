"""Assemble the report page from section declarations and write it atomically."""

from __future__ import annotations

import datetime
import sys
import traceback
from pathlib import Path

from tqdm import tqdm

from egoflow.atomic import atomic_write
from egoflow.report.page import esc, page
from egoflow.report.renderers import RENDERERS
from egoflow.report.sections import Section


def caption_html(caption: str, root: Path) -> str:
    """A caption is either text or the path of a text/.rst file (as in snakemake's report(caption=...))."""
    if not caption:
        return ""
    path = Path(caption) if Path(caption).is_absolute() else root / caption
    if len(caption) < 300 and "\n" not in caption and path.is_file():
        caption = path.read_text(encoding="utf-8")
    return f'<p class="caption">{esc(caption.strip())}</p>'


def render_section(section: Section, root: Path) -> tuple[str, str]:
    files = section.resolve(root)
    kind = section.resolved_kind(files)
    body = caption_html(section.caption, root)
    if not files and kind != "frames_texts":
        return kind, body + '<p class="note">not produced by this run</p>'
    try:
        body += RENDERERS[kind](section, files, root)
    except Exception:  # one broken section must not hide the others: show the error in its place
        print(f"report: section {section.title!r} failed:\n{traceback.format_exc()}", file=sys.stderr)
        body += f'<pre class="note">{esc(traceback.format_exc(limit=3))}</pre>'
    return kind, body


def build_report(
    sections: list[dict | Section],
    out: str | Path,
    *,
    root: str | Path = ".",
    title: str = "egoflow report",
    subtitle: str = "",
) -> None:
    """Render `sections` (files relative to `root`) into one self-contained HTML file at `out`.

    Sections are grouped by category, categories and sections in the order given.
    """
    root = Path(root)
    sections = [
        s if isinstance(s, Section) else Section.from_dict(s, f"report section {i}")
        for i, s in enumerate(sections)
    ]
    by_category: dict[str, list[tuple[str, str, str]]] = {}
    for section in tqdm(sections, desc="report sections", file=sys.stderr):
        kind, body = render_section(section, root)
        by_category.setdefault(section.category, []).append((section.title, kind, body))
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = subtitle or f"built {stamp} from {root.resolve()}"
    with atomic_write(out) as handle:
        handle.write(page(title, subtitle, list(by_category.items())))
