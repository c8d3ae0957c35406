"""What a report section is, and how its file patterns become files."""

from __future__ import annotations

import dataclasses
import glob
import re
from pathlib import Path

from egoflow.errors import InputError

# How a section shows its files. "auto" picks one from the first file's suffix.
KINDS = ("auto", "table", "figure", "metrics", "curves", "stores", "runtimes", "frames_texts", "text")
SUFFIX_KINDS = {
    ".tsv": "table",
    ".csv": "table",
    ".png": "figure",
    ".jpg": "figure",
    ".jpeg": "figure",
    ".gif": "figure",
    ".svg": "figure",
    ".json": "metrics",
    ".h5": "stores",
    ".hdf5": "stores",
    ".mdb": "stores",
    ".txt": "text",
    ".log": "text",
}
WILDCARD = re.compile(r"\{[^{}]*\}")


@dataclasses.dataclass
class Section:
    title: str
    kind: str = "auto"
    # Paths or patterns relative to the report's root: snakemake wildcards ({video_uid}) and glob
    # characters both match any name. frames_texts takes named files instead (states, narrations, manifest).
    files: list[str] | dict[str, str] = dataclasses.field(default_factory=list)
    caption: str = ""
    # Sections of one category are shown together, under its heading (e.g. the stage).
    category: str = "Results"
    # Where the section came from (a rule name, or "report" for the built-in views).
    source: str = ""
    # Most items to show (frame cards, table rows); 0 = the renderer's default.
    limit: int = 0

    @classmethod
    def from_dict(cls, data: dict, where: str = "report.sections") -> Section:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(where, f"unknown section key(s) {unknown}; known: {sorted(known)}")
        if "title" not in data:
            raise InputError(where, "a section needs a 'title'")
        section = cls(**data)
        if section.kind not in KINDS:
            raise InputError(where, f"section {section.title!r}: kind {section.kind!r} is not one of {KINDS}")
        return section

    def resolve(self, root: Path) -> list[Path]:
        """Existing files (or store folders) matching the section's patterns, sorted, without duplicates."""
        patterns = self.files.values() if isinstance(self.files, dict) else self.files
        found: dict[Path, None] = {}
        for pattern in patterns:
            as_glob = WILDCARD.sub("*", str(pattern))
            full = as_glob if Path(as_glob).is_absolute() else str(root / as_glob)
            for match in sorted(glob.glob(full, recursive=True)):
                found[Path(match)] = None
        return list(found)

    def resolved_kind(self, files: list[Path]) -> str:
        if self.kind != "auto":
            return self.kind
        for path in files:
            if path.is_dir() and (path / "data.mdb").exists():
                return "stores"
            if path.suffix.lower() in SUFFIX_KINDS:
                return SUFFIX_KINDS[path.suffix.lower()]
        return "text"
