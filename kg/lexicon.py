"""The extractor's vocabulary (kg/data/lexicon.toml) loaded once, with fast matchers built from it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import tomllib


def trie_pattern(words: Iterable[str]) -> str:
    """A regex alternation of ``words`` shaped as a trie, so that matching is linear, not per-word.

    Python's ``re`` tries alternatives one by one; a trie-shaped pattern shares prefixes, which
    keeps thousands of gazetteer names fast. Longer words win over their prefixes.
    """
    trie: dict = {}
    for word in words:
        if not word:
            continue
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True

    def render(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(char) + render(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return render(trie)


@dataclass(frozen=True)
class Lexicon:
    suffixes: dict[str, tuple[str, ...]]
    agency_short: tuple[str, ...]
    generic_heads: frozenset[str]
    generic_stems: frozenset[str]
    level_prefixes: frozenset[str]
    left_stops: frozenset[str]
    name_verbs: frozenset[str]
    titles: tuple[str, ...]
    byline_roles: tuple[str, ...]
    surnames: frozenset[str]
    compound_surnames: frozenset[str]
    department_abbreviations: dict[str, str]
    national_bodies: tuple[str, ...] = ()

    def is_surname_start(self, name: str) -> bool:
        return name[:2] in self.compound_surnames or name[:1] in self.surnames


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    text = resources.files("kg").joinpath("data/lexicon.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    words = data["vocabulary"]
    suffixes = {
        key: tuple(sorted(set(values), key=lambda s: (-len(s), s)))
        for key, values in data["suffixes"].items()
        if key != "Agency_short"
    }
    return Lexicon(
        suffixes=suffixes,
        agency_short=tuple(data["suffixes"]["Agency_short"]),
        generic_heads=frozenset(words["generic_heads"]),
        generic_stems=frozenset(words["generic_stems"]),
        level_prefixes=frozenset(words["level_prefixes"]),
        left_stops=frozenset(words["left_stops"]),
        name_verbs=frozenset(words["name_verbs"]),
        titles=tuple(sorted(set(words["titles"]), key=lambda s: (-len(s), s))),
        byline_roles=tuple(sorted(set(words["byline_roles"]), key=lambda s: (-len(s), s))),
        surnames=frozenset("".join(words["surnames"].split())),
        compound_surnames=frozenset(words["compound_surnames"]),
        department_abbreviations=dict(data["department_abbreviations"]),
        national_bodies=tuple(sorted(words.get("national_bodies", ()), key=len, reverse=True)),
    )
