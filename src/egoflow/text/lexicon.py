"""Deterministic verb-lexicon rules for the template backend: a cheap baseline and an ablation of the LLM.

A narration "#C C <verb> <object> [<preposition> ...]" is split into subject, verb and object; the verb's family
gives templates for the state before, after, and three failed or wrong executions. Summaries get steps reordered
("order") or dropped ("key") from their window's narrations.
"""

from __future__ import annotations

import random
import re

# family -> (Before, After, CF 1, CF 2, CF 3); {o} = object, {s} = subject
FAMILIES = {
    "take": (
        "The {o} rests in its place.",
        "The {o} is now in {s}'s hand.",
        "The {o} is still lying in its original place.",
        "The {o} is half lifted and about to slip back.",
        "Something other than the {o} is in {s}'s hand.",
    ),
    "put": (
        "The {o} is held in {s}'s hand.",
        "The {o} sits in its new place.",
        "The {o} is still held in {s}'s hand.",
        "The {o} balances on an edge, about to fall.",
        "The {o} lies in the wrong place.",
    ),
    "cut": (
        "The {o} is whole.",
        "The {o} is cut into pieces.",
        "The {o} is still whole.",
        "The {o} is only partly cut, with pieces still attached.",
        "The {o} is crushed into uneven chunks.",
    ),
    "open": (
        "The {o} is closed.",
        "The {o} is open.",
        "The {o} stays firmly closed.",
        "The {o} is only slightly ajar.",
        "The {o} is broken where it should open.",
    ),
    "close": (
        "The {o} is open.",
        "The {o} is closed.",
        "The {o} is still wide open.",
        "The {o} is left slightly ajar.",
        "The {o} is jammed shut at an angle.",
    ),
    "clean": (
        "The {o} is dirty.",
        "The {o} is clean.",
        "The {o} is still dirty.",
        "The {o} is clean on one side only.",
        "The {o} is smeared and dirtier than before.",
    ),
    "pour": (
        "The {o} is inside its container.",
        "The {o} has been transferred to the target container.",
        "The {o} is still inside its original container.",
        "Only a trickle of the {o} has moved.",
        "The {o} is spilled around the container.",
    ),
    "fill": (
        "The {o} is empty.",
        "The {o} is full.",
        "The {o} is still empty.",
        "The {o} is only partly filled.",
        "The {o} has overflowed and spilled.",
    ),
    "mix": (
        "The {o} is unmixed.",
        "The {o} is evenly mixed.",
        "The {o} is still unmixed.",
        "The {o} is mixed only at the top.",
        "The {o} has splashed out of its bowl.",
    ),
    "switch": (
        "The {o} is in its previous setting.",
        "The {o} is in its new setting.",
        "The {o} remains in its previous setting.",
        "The {o} flickers between settings.",
        "A different control than the {o} has changed.",
    ),
    "fold": (
        "The {o} lies flat and unfolded.",
        "The {o} is neatly folded.",
        "The {o} still lies flat.",
        "The {o} is folded only halfway.",
        "The {o} is crumpled into a messy bundle.",
    ),
    "move": (
        "The {o} is in its starting position.",
        "The {o} is in its new position.",
        "The {o} has not moved from its starting position.",
        "The {o} has moved only a little.",
        "The {o} has tipped over in the wrong direction.",
    ),
    "other": (
        "The {o} is untouched.",
        "The {o} has been handled by {s}.",
        "The {o} is left exactly as it was.",
        "The {o} is handled only halfway.",
        "The {o} is handled the wrong way and ends up misplaced.",
    ),
}
VERBS = {
    "take": "pick take grab lift hold carry remove collect get fetch",
    "put": "put place drop keep set lay return hang insert",
    "cut": "cut slice chop dice trim split",
    "open": "open unlock unscrew unwrap unfold",
    "close": "close shut lock screw cover seal",
    "clean": "wash rinse clean wipe scrub dry",
    "pour": "pour empty sprinkle add",
    "fill": "fill refill",
    "mix": "mix stir whisk beat knead blend",
    "switch": "turn switch press adjust",
    "fold": "fold roll wrap",
    "move": "move push pull drag slide shift rotate flip",
}
FAMILY_OF = {verb: family for family, verbs in VERBS.items() for verb in verbs.split()}
STOP = {
    "from",
    "on",
    "onto",
    "in",
    "into",
    "with",
    "to",
    "at",
    "off",
    "under",
    "inside",
    "over",
    "across",
    "for",
}
DETERMINERS = {"a", "an", "the", "some", "his", "her", "their", "its", "another"}


def lemma(word: str) -> str:
    """'picks' -> 'pick', 'washes' -> 'wash', 'places' -> 'place' (enough for the lexicon's verbs)."""
    word = word.lower()
    for suffix in ("es", "s"):
        if word.endswith(suffix) and (word[: -len(suffix)] in FAMILY_OF):
            return word[: -len(suffix)]
    return word


def parse_narration(narration: str) -> tuple[str, str, str]:
    """(subject, verb lemma, object phrase) of an EgoClip narration such as '#C C picks a bag from the floor.'"""
    words = re.sub(r"#\w+", " ", narration).replace(".", " ").split()
    subject = words[0] if words and len(words[0]) == 1 and words[0].isupper() else "C"
    rest = words[1:] if words and words[0] == subject else words
    verb = lemma(rest[0]) if rest else "handle"
    phrase = []
    for word in rest[1:]:
        if word.lower() in STOP and phrase:
            break
        if word.lower() in DETERMINERS or word.lower() in {"on", "off", "up", "down", "out"}:
            continue
        phrase.append(word)
    return subject, verb, " ".join(phrase) or "surroundings"


def clip_answer(narration: str) -> dict[str, str]:
    subject, verb, obj = parse_narration(narration)
    templates = FAMILIES[FAMILY_OF.get(verb, "other")]
    names = ("Before", "After", "CF 1", "CF 2", "CF 3")
    return {name: t.format(o=obj, s=subject) for name, t in zip(names, templates, strict=True)}


GENERIC = {
    "order": [
        "The steps of this activity happen in reverse: {c}.",
        "The final step of this activity comes first: {c}.",
        "The activity starts in the middle and goes back to the start: {c}.",
        "Two steps of this activity are swapped: {c}.",
        "The first step of this activity is done last: {c}.",
        "The activity's steps are shuffled at random: {c}.",
        "The preparation comes after the main step: {c}.",
        "The last two steps of this activity are swapped: {c}.",
        "The activity's steps alternate from both ends: {c}.",
        "The middle step of this activity is done first: {c}.",
    ],
    "key": [
        "The main step of this activity never happens: {c}.",
        "The activity stops halfway: {c}.",
        "The preparation of this activity is skipped: {c}.",
        "The final step of this activity is left out: {c}.",
        "The first step of this activity is skipped: {c}.",
        "Only the first step of this activity happens: {c}.",
        "Only the last step of this activity happens: {c}.",
        "The middle of this activity is skipped: {c}.",
        "Every second step of this activity is skipped: {c}.",
        "The activity is abandoned after it starts: {c}.",
    ],
}


def _step(narration: str) -> str:
    """'#C C picks a bag.' -> 'C picks a bag'."""
    return re.sub(r"\s+", " ", re.sub(r"#\w+", " ", narration)).strip().rstrip(".")


def summary_answer(kind: str, summary: str, narrations: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Ten distinct counterfactual summaries: window steps reordered ("order") or with steps dropped ("key")."""
    steps = list(dict.fromkeys(s for s in (_step(n) for n in narrations) if s))
    core = _step(summary)
    rng = random.Random(f"{kind}:{summary}")  # deterministic per summary, independent of sharding
    answers: list[str] = []
    seen = {core.casefold()}
    for attempt in range(200):
        if len(answers) == 10:
            break
        if len(steps) >= 2 and attempt < 150:
            start = rng.randrange(max(1, len(steps) - 3))
            window = steps[start : start + 4]  # four steps keep a counterfactual to one or two sentences
            if kind == "order":
                picked = rng.sample(window, len(window))
                if picked == window:
                    continue
            else:
                drop = rng.randrange(len(window))
                picked = window[:drop] + window[drop + 1 :]
            text = ", then ".join(picked) + "."
        else:
            text = GENERIC[kind][len(answers) % 10].format(c=core)
            if text.casefold() in seen:
                text = f"{text[:-1]} (variant {len(answers) + 1})."
        if text.casefold() not in seen:
            seen.add(text.casefold())
            answers.append(text[0].upper() + text[1:])
    return {f"CF {i + 1}": text for i, text in enumerate(answers)}
