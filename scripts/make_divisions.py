"""Development-time generator of kg/data/divisions.tsv from cpca's bundled adcodes (MIT).

Run: python scripts/make_divisions.py  (needs cpca installed; not a run-time dependency)."""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "kg" / "data" / "divisions.tsv"
MUNICIPALITIES = {"11", "12", "31", "50"}  # 北京 天津 上海 重庆: provincial level, called cities


def _nations() -> list[str]:
    text = resources.files("cpca").joinpath("resources/56_nations.csv").read_text("utf-8")
    names = [line.strip() for line in text.splitlines() if line.strip()]
    # Also the bare forms used inside names (蒙古族 → 蒙古), longest first.
    return sorted(set(names), key=len, reverse=True)


def short_form(name: str, level: str, nations: list[str]) -> str:
    """The short form used in news (湘潭市 → 湘潭, 广西壮族自治区 → 广西); '' when too short."""
    if "自治" in name:
        for nation in nations:
            pos = name.find(nation)
            if pos >= 2:
                name = name[:pos]
                break
        else:
            name = re.sub(r"自治(区|州|县|旗)$", "", name)
    else:
        for suffix in ("特别行政区", "省", "市", "地区", "盟", "县", "区", "旗", "林区", "特区"):
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                name = name[: -len(suffix)]
                break
    return name if len(name) >= 2 else ""


def main() -> int:
    text = resources.files("cpca").joinpath("resources/adcodes.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    nations = _nations()
    codes = {row["adcode"][:6] for row in rows}
    out = []
    for row in rows:
        code, name = row["adcode"][:6], row["name"]
        if name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue  # placeholders of the official code table, not places
        if code.endswith("0000"):
            level, parent = "province", ""
            if code[:2] in MUNICIPALITIES:
                level = "city"
        elif code.endswith("00"):
            level, parent = "city", code[:2] + "0000"
        else:
            level = "county"
            parent = code[:4] + "00" if code[:4] + "00" in codes else code[:2] + "0000"
            if parent not in codes or parent.endswith("0100") and code[:2] in MUNICIPALITIES:
                parent = code[:2] + "0000"
        short = short_form(name, level, nations)
        out.append([code, name, short if short != name else "", level, parent, row["latitude"], row["longitude"]])
    # A parent of a placeholder (…0100 市辖区) is its province.
    valid = {r[0] for r in out}
    for r in out:
        if r[4] and r[4] not in valid:
            r[4] = r[0][:2] + "0000"
    out.sort()
    with open(OUT, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["code", "name", "short", "level", "parent_code", "lat", "lng"])
        writer.writerows(out)
    print(f"{len(out)} divisions → {OUT}: {dict(Counter(r[3] for r in out))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
