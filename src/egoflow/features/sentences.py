"""Action sentences for language prototypes, as S-GEAR builds them (sgear-anticipation.md §1.2).

EPIC class keys become "<verb> <noun>": a compound noun written `head:modifier` is reversed and space-joined
(`wrap:plastic` -> "plastic wrap", `onion:spring` -> "spring onion"); verb hyphens are kept ("turn-on tap").
"""

from __future__ import annotations


def noun_phrase(noun_key: str) -> str:
    """`wrap:plastic` -> "plastic wrap"; a noun without ':' is unchanged."""
    return " ".join(reversed(noun_key.split(":")))


def action_sentence(verb_key: str, noun_key: str) -> str:
    """("take", "wrap:plastic") -> "take plastic wrap"."""
    return f"{verb_key} {noun_phrase(noun_key)}"
