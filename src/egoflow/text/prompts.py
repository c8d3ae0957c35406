"""Prompt files (config/prompts/) -> chat messages for one item.

Templates are plain text with `{narration}`, `{summary}` and `{narrations}` placeholders, replaced literally
(not str.format), so prompts may contain JSON braces. A template that lacks its placeholder is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from egoflow.errors import InputError
from egoflow.text.narrations import Item

# file name -> placeholders it must contain
PROMPT_FILES = {
    "clip_states.system.txt": (),
    "clip_states.user.txt": ("{narration}",),
    "summary_order.system.txt": (),
    "summary_key.system.txt": (),
    "summary_order.no_narrations.system.txt": (),
    "summary_key.no_narrations.system.txt": (),
    "summary.user.txt": ("{summary}", "{narrations}"),
    "summary.no_narrations.user.txt": ("{summary}",),
}


def fill(template: str, **values: str) -> str:
    """Replace each `{name}` in one pass, so a value that itself contains `{...}` is left alone."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]  # file name -> template

    @classmethod
    def load(cls, folder: str | Path) -> Prompts:
        folder = Path(folder)
        texts = {}
        for name, placeholders in PROMPT_FILES.items():
            path = folder / name
            if not path.is_file():
                raise InputError(path, "prompt file not found")
            text = path.read_text(encoding="utf-8").strip()
            for placeholder in placeholders:
                if placeholder not in text:
                    raise InputError(path, f"prompt template lacks the placeholder {placeholder}")
            texts[name] = text
        return cls(texts)

    def messages(self, item: Item) -> list[dict[str, str]]:
        """System + user chat messages for `item`."""
        if item.kind == "clip":
            system = self.texts["clip_states.system.txt"]
            user = fill(self.texts["clip_states.user.txt"], narration=item.key)
        elif item.narrations:
            system = self.texts[f"summary_{item.kind}.system.txt"]
            # Upstream joined with os.path.join (".../. /..."); a plain ". " join is what was meant.
            joined = ". ".join(n.strip().rstrip(".") for n in item.narrations) + "."
            user = fill(self.texts["summary.user.txt"], summary=item.key, narrations=joined)
        else:
            system = self.texts[f"summary_{item.kind}.no_narrations.system.txt"]
            user = fill(self.texts["summary.no_narrations.user.txt"], summary=item.key)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]
