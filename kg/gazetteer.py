"""The shipped gazetteer of China's administrative divisions (kg/data/divisions.tsv), stdlib only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_LEVEL_RANK = {"province": 0, "city": 1, "county": 2, "town": 3}
HOME_PROVINCE_PREFIX = "43"  # 湖南省: the project's home province breaks remaining ties


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    short: str
    level: str
    parent_code: str | None
    lat: float | None
    lng: float | None


class Gazetteer:
    """Divisions by code and by surface form (full and short), with their hierarchy."""

    def __init__(self, divisions: Sequence[Division]):
        self._by_code = {d.code: d for d in divisions}
        self._by_form: dict[str, list[Division]] = {}
        self._children: dict[str, list[Division]] = {}
        for division in divisions:
            self._by_form.setdefault(division.name, []).append(division)
            if division.short and division.short != division.name:
                self._by_form.setdefault(division.short, []).append(division)
            if division.parent_code:
                self._children.setdefault(division.parent_code, []).append(division)

    def by_code(self, code: str) -> Division | None:
        return self._by_code.get(code)

    def lookup(self, surface: str) -> list[Division]:
        return list(self._by_form.get(surface, ()))

    def parent(self, division: Division) -> Division | None:
        # Four 市直辖行政区划 rows are their own parent: no parent (ancestors() would never end).
        if not division.parent_code or division.parent_code == division.code:
            return None
        return self._by_code.get(division.parent_code)

    def ancestors(self, division: Division) -> list[Division]:
        out = []
        current = self.parent(division)
        while current is not None:
            out.append(current)
            current = self.parent(current)
        return out

    def children(self, division: Division) -> list[Division]:
        return list(self._children.get(division.code, ()))

    def cities(self) -> Iterator[Division]:
        return (d for d in self._by_code.values() if d.level == "city")

    def provinces(self) -> Iterator[Division]:
        return (d for d in self._by_code.values() if d.level == "province")

    def names(self) -> Iterator[tuple[str, Division]]:
        for form, divisions in sorted(self._by_form.items()):
            for division in divisions:
                yield form, division

    def resolve(self, surface: str, context: Sequence[Division] = ()) -> Division | None:
        """The division a surface form most likely names.

        Prefers an exact full name, then divisions in the same province as the context, then
        the higher level for short forms (湘潭 → 湘潭市, never 湘潭县), then the home province.
        """
        candidates = self.lookup(surface)
        if not candidates:
            return None
        provinces = {c.code[:2] for c in context}

        def rank(d: Division) -> tuple:
            return (
                d.name != surface,
                d.code[:2] not in provinces if provinces else False,
                _LEVEL_RANK.get(d.level, 9),
                not d.code.startswith(HOME_PROVINCE_PREFIX),
                d.code,
            )

        return sorted(candidates, key=rank)[0]


def _float(value: str) -> float | None:
    return float(value) if value else None


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    text = resources.files("kg").joinpath("data/divisions.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return Gazetteer(
        [
            Division(
                code=row["code"],
                name=row["name"],
                short=row["short"],
                level=row["level"],
                parent_code=row["parent_code"] or None,
                lat=_float(row["lat"]),
                lng=_float(row["lng"]),
            )
            for row in rows
        ]
    )


def level_to_type(level: str) -> str:
    """The ontology class of a division level (towns are County-class places)."""
    return {"province": "Province", "city": "City"}.get(level, "County")
