"""One renderer per section kind: files in, an HTML fragment out.

A renderer never fails the report for a malformed or unreadable file: it shows what it could not read,
so a report of a half-broken run still opens and says where to look.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path

from egoflow.report.charts import bar_chart, line_chart
from egoflow.report.frames import grab_frame
from egoflow.report.page import data_uri, esc, table
from egoflow.report.png import encode_png
from egoflow.report.sections import Section

Renderer = Callable[[Section, list[Path], Path], str]
RENDERERS: dict[str, Renderer] = {}
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}


def renderer(kind: str):
    def register(fn: Renderer) -> Renderer:
        RENDERERS[kind] = fn
        return fn

    return register


def rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def problem(path: Path, root: Path, error: Exception) -> str:
    return f'<p class="note">could not read {esc(rel(path, root))}: {esc(type(error).__name__)}: {esc(error)}</p>'


def read_rows(path: Path) -> tuple[list[str], list[list]]:
    """Header and rows of a TSV/CSV; the separator is whichever of tab and comma the header uses more."""
    text = path.read_text(encoding="utf-8")
    first = text.split("\n", 1)[0]
    sep = "\t" if first.count("\t") >= first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    if not rows:
        return [], []
    return rows[0], [[number(v) for v in row] for row in rows[1:] if row]


def readable_tables(files: list[Path], root: Path, parts: list[str] | None):
    """(path, header, rows) of each readable table; an unreadable one adds a note to `parts` (if given)."""
    for path in files:
        try:
            header, rows = read_rows(path)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            if parts is not None:
                parts.append(problem(path, root, error))
            continue
        yield path, header, rows


def number(value: str):
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


@renderer("table")
def render_table(section: Section, files: list[Path], root: Path) -> str:
    parts = []
    for path, header, rows in readable_tables(files, root, parts):
        label = f"{rel(path, root)} — {len(rows)} rows"
        parts.append(f'<p class="files">{esc(label)}</p>')
        shown = table(header, rows, limit=section.limit or 200)
        parts.append(
            f'<div class="scroll">{shown}</div>'
            if rows
            else '<p class="note">no rows (nothing to report)</p>'
        )
    return "".join(parts)


@renderer("figure")
def render_figure(section: Section, files: list[Path], root: Path) -> str:
    parts = []
    for path in files:
        mime = IMAGE_TYPES.get(path.suffix.lower())
        if mime is None:
            parts.append(f'<p class="note">{esc(rel(path, root))} is not an image</p>')
            continue
        src = data_uri(path.read_bytes(), mime)
        parts.append(
            f'<figure><img class="figure" src="{src}" alt="{esc(path.name)}"><figcaption class="files">{esc(rel(path, root))}</figcaption></figure>'
        )
    return "".join(parts)


def flatten(value, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in flatten(v, f"{prefix}{k}.")]
    if isinstance(value, list) and len(value) <= 8 and all(not isinstance(v, (dict, list)) for v in value):
        return [(prefix.rstrip("."), ", ".join(map(str, value)))]
    if isinstance(value, list):
        return [(prefix.rstrip("."), f"[{len(value)} items]")]
    return [(prefix.rstrip("."), value)]


@renderer("metrics")
def render_metrics(section: Section, files: list[Path], root: Path) -> str:
    """JSON metrics: one row per file, one column per (flattened) key, when they share keys; else key/value."""
    loaded = []
    parts = []
    for path in files:
        try:
            loaded.append((rel(path, root), dict(flatten(json.loads(path.read_text(encoding="utf-8"))))))
        except (OSError, ValueError) as error:
            parts.append(problem(path, root, error))
    keys = list(dict.fromkeys(k for _, values in loaded for k in values))
    if loaded and len(keys) <= 12:
        parts.append(
            table(["file", *keys], [[name, *(values.get(k, "") for k in keys)] for name, values in loaded])
        )
    else:
        for name, values in loaded:
            parts.append(
                f'<p class="files">{esc(name)}</p>' + table(["key", "value"], list(values.items()), limit=40)
            )
    return "".join(parts)


@renderer("curves")
def render_curves(section: Section, files: list[Path], root: Path) -> str:
    """Training logs (CSV/TSV): the step/epoch column against every other numeric column."""
    parts = []
    for path, header, rows in readable_tables(files, root, parts):
        if not rows:
            parts.append(f'<p class="note">{esc(rel(path, root))}: no rows yet</p>')
            continue
        xcol = next(
            (i for i, h in enumerate(header) if h.lower() in ("step", "epoch", "iter", "iteration")), 0
        )
        numeric = [
            i
            for i in range(len(header))
            if i != xcol and all(isinstance(r[i], (int, float)) for r in rows if i < len(r))
        ]
        x = [float(r[xcol]) if isinstance(r[xcol], (int, float)) else float(n) for n, r in enumerate(rows)]
        series = {header[i]: [float(r[i]) if i < len(r) else math.nan for r in rows] for i in numeric}
        parts.append(
            f'<p class="files">{esc(rel(path, root))}</p>' + line_chart(x, series, xlabel=header[xcol])
        )
    return "".join(parts)


def describe_h5(path: Path) -> list[list]:
    import h5py

    rows = []
    with h5py.File(path, "r") as h5:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                rows.append([name, "×".join(map(str, obj.shape)) or "scalar", str(obj.dtype), len(obj.attrs)])

        h5.visititems(visit)
    return rows


def describe_lmdb(folder: Path) -> list[list]:
    import lmdb

    env = lmdb.open(str(folder), readonly=True, lock=False, subdir=True)
    try:
        stat = env.stat()
        with env.begin() as txn:
            first = next(iter(txn.cursor().iternext(values=False)), b"")
        rows = [["entries", stat["entries"]], ["first key", first.decode("utf-8", "replace")]]
    finally:
        env.close()
    meta = folder / "meta.json"
    if meta.exists():
        info = json.loads(meta.read_text(encoding="utf-8"))
        rows += [[k, v] for k, v in flatten(info) if not isinstance(v, str) or len(v) < 80][:12]
    return rows


@renderer("stores")
def render_stores(section: Section, files: list[Path], root: Path) -> str:
    """Feature stores: datasets, shapes and dtypes of HDF5 files; entries and metadata of LMDB folders."""
    parts = []
    summary = []
    for path in files:
        folder = path.parent if path.name == "data.mdb" else path
        size = (
            sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            if folder.is_dir()
            else path.stat().st_size
        )
        name = rel(folder if folder.is_dir() else path, root)
        try:
            if path.suffix.lower() in (".h5", ".hdf5"):
                rows = describe_h5(path)
                summary.append([name, "HDF5", len(rows), round(size / 1e6, 3)])
                detail = table(["dataset", "shape", "dtype", "attrs"], rows, limit=20)
                parts.append(f'<div><p class="files">{esc(name)}</p>{detail}</div>')
            elif (folder / "data.mdb").exists():
                rows = describe_lmdb(folder)
                summary.append([name, "LMDB", rows[0][1], round(size / 1e6, 3)])
                detail = table(["property", "value"], rows)
                parts.append(f'<div><p class="files">{esc(name)}</p>{detail}</div>')
        except Exception as error:  # a broken store is reported, not fatal: the report is for diagnosis
            parts.append(problem(path, root, error))
    head = table(["store", "format", "datasets / entries", "MB"], summary) if summary else ""
    # Details side by side: a run has many per-video shards of the same layout.
    return head + f'<div class="stores">{"".join(parts)}</div>'


@renderer("runtimes")
def render_runtimes(section: Section, files: list[Path], root: Path) -> str:
    """Per-rule runtimes from `benchmark:` files (results/benchmarks/<rule>[/<wildcards>].tsv)."""
    per_rule: dict[str, list[tuple[float, float]]] = {}
    for path, header, rows in readable_tables(files, root, None):
        if "s" not in header or not rows:
            continue
        parts = rel(path, root).split("/")
        start = parts.index("benchmarks") + 1 if "benchmarks" in parts else len(parts) - 1
        rule = parts[start].removesuffix(".tsv")
        seconds, rss = (
            rows[-1][header.index("s")],
            rows[-1][header.index("max_rss")] if "max_rss" in header else 0,
        )
        per_rule.setdefault(rule, []).append(
            (float(seconds), float(rss) if isinstance(rss, (int, float)) else 0.0)
        )
    if not per_rule:
        return '<p class="note">no benchmark files yet</p>'
    rows = sorted(
        (
            [
                rule,
                len(v),
                sum(s for s, _ in v),
                statistics.fmean(s for s, _ in v),
                max(s for s, _ in v),
                max(m for _, m in v),
            ]
            for rule, v in per_rule.items()
        ),
        key=lambda r: -r[2],
    )
    chart = bar_chart([r[0] for r in rows], [r[2] for r in rows], unit="s")
    return chart + table(["rule", "jobs", "total s", "mean s", "max s", "max RSS MB"], rows)


@renderer("frames_texts")
def render_frames_texts(section: Section, files: list[Path], root: Path) -> str:
    """Frames at the start and end of narrated clips, next to the Before / After / CF texts generated for them.

    files: {"states": states.json, "narrations": egoclip.csv, "manifest": manifest.tsv}.
    """
    named = section.files if isinstance(section.files, dict) else {}
    paths = {k: root / v for k, v in named.items()}
    missing = [k for k in ("states", "narrations", "manifest") if k not in paths or not paths[k].exists()]
    if missing:
        return f'<p class="note">not produced by this run: {esc(", ".join(missing))}</p>'
    states = json.loads(paths["states"].read_text(encoding="utf-8"))
    header, rows = read_rows(paths["narrations"])
    mheader, mrows = read_rows(paths["manifest"])
    column = {h: i for i, h in enumerate(header)}
    mcol = {h: i for i, h in enumerate(mheader)}
    video_path = {
        r[mcol["video_uid"]]: r[mcol["path"]]
        for r in mrows
        if "row_type" not in mcol or r[mcol["row_type"]] == "video"
    }
    cards, seen = [], set()
    for row in rows:
        text = row[column["clip_text"]]
        uid = str(row[column["video_uid"]])
        if text in seen or text not in states or uid not in video_path:
            continue
        seen.add(text)
        start, end = float(row[column["clip_start"]]), float(row[column["clip_end"]])
        source = Path(video_path[uid])
        source = source if source.is_absolute() else paths["manifest"].parent / source
        images = []
        for label, t in (("start", start), ("end", end)):
            frame = grab_frame(source, t)
            img = (
                f'<img src="{data_uri(encode_png(frame), "image/png")}" alt="{label}">'
                if frame is not None
                else "<p class='note'>no frame</p>"
            )
            images.append(f"<figure>{img}<figcaption>{esc(uid)} @ {t:.2f}s ({label})</figcaption></figure>")
        texts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in states[text].items())
        cards.append(
            f'<div class="card"><b>{esc(text)}</b><div class="frames">{"".join(images)}</div><dl>{texts}</dl></div>'
        )
        if len(cards) == (section.limit or 6):
            break
    if not cards:
        return '<p class="note">no narration has both generated texts and a readable video</p>'
    return f'<div class="cards">{"".join(cards)}</div>'


@renderer("text")
def render_text(section: Section, files: list[Path], root: Path) -> str:
    parts = []
    for path in files:
        if path.is_dir():
            listing = "\n".join(sorted(rel(p, root) for p in path.rglob("*") if p.is_file())[:50])
            parts.append(f'<p class="files">{esc(rel(path, root))}/</p><pre>{esc(listing)}</pre>')
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            parts.append(problem(path, root, error))
            continue
        more = "\n…" if len(text) > 3000 else ""
        parts.append(f'<p class="files">{esc(rel(path, root))}</p><pre>{esc(text[:3000])}{more}</pre>')
    return "".join(parts)
