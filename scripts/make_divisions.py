"""Development-time generator of kg/data/divisions.tsv.

Names, official codes and hierarchy come from jionlp's ``dictionary/china_location.txt``
(Apache-2.0; current divisions: 渌口区 (2018), 宁乡市 (2017)…); coordinates, where the code is
unchanged, from cpca's bundled ``adcodes.csv`` (MIT). Neither is a run-time dependency.

Run: python scripts/make_divisions.py  (needs jionlp and cpca installed; cpca needs setuptools<81)."""

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


def _coordinates() -> dict[str, tuple[str, str]]:
    try:
        text = resources.files("cpca").joinpath("resources/adcodes.csv").read_text("utf-8")
    except ModuleNotFoundError:
        return {}
    return {
        row["adcode"][:6]: (row["latitude"], row["longitude"])
        for row in csv.DictReader(text.splitlines())
    }


def _cpca_rows(nations: list[str]) -> list[list[str]]:
    try:
        text = resources.files("cpca").joinpath("resources/adcodes.csv").read_text("utf-8")
    except ModuleNotFoundError:
        return []
    rows = []
    for row in csv.DictReader(text.splitlines()):
        code, name = row["adcode"][:6], row["name"]
        level = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
        parent = "" if level == "province" else code[:2] + "0000"
        short = short_form(name, level, nations)
        rows.append(
            [
                code,
                name,
                short if short != name else "",
                level,
                parent,
                row["latitude"],
                row["longitude"],
            ]
        )
    return rows


def _jionlp_rows() -> list[tuple[int, str, str, str]]:
    """(depth, name, code, short) of every province, city and county line."""
    import jionlp  # noqa: F401  (prints a banner; development time only)

    path = Path(jionlp.__file__).parent / "dictionary" / "china_location.txt"
    rows = []
    for line in path.read_text("utf-8").splitlines():
        depth = len(line) - len(line.lstrip("\t"))
        parts = line.strip("\t").split("\t")
        if depth <= 2 and len(parts) >= 2 and parts[1].isdigit():
            rows.append((depth, parts[0], parts[1][:6], parts[2] if len(parts) > 2 else ""))
    return rows


def main() -> int:
    nations = _nations()
    coordinates = _coordinates()
    out: dict[str, list[str]] = {}
    province = city = ""
    for depth, name, code, short in _jionlp_rows():
        if depth == 0:
            province = city = code
            level, parent = ("city" if code[:2] in MUNICIPALITIES else "province"), ""
        elif depth == 1:
            city = code
            if code == province:  # a municipality is its own city
                continue
            level, parent = "city", province
        else:
            level, parent = "county", city
            if 70 <= int(code[4:]) <= 79:
                continue  # functional zones (高新区, 示范区) with county codes: parks, not divisions
        if name in ("市辖区", "县") or "直辖" in name or code in out:
            continue  # placeholders of the official code table (市直辖行政区划…), not places
        short = short or short_form(name, level, nations)
        lat, lng = coordinates.get(code, ("", ""))
        out[code] = [code, name, short if short != name else "", level, parent, lat, lng]
    # jionlp gives Hong Kong's and Macau's districts the region's own code: keep the regions
    # (and Taiwan, absent from jionlp) from cpca instead.
    out = {code: row for code, row in out.items() if code[:2] not in ("81", "82")}
    for code, name, short, level, parent, lat, lng in _cpca_rows(nations):
        # (cpca gives Hong Kong's and Macau's districts their region's code: only the region.)
        province_row = code.endswith("0000") and level == "province"
        if (
            code[:2] in ("71", "81", "82")
            and code not in out
            and (province_row or code[:2] == "71")
        ):
            out[code] = [code, name, short, level, parent, lat, lng]
    rows = sorted(out.values())
    with open(OUT, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["code", "name", "short", "level", "parent_code", "lat", "lng"])
        writer.writerows(rows)
    print(f"{len(rows)} divisions → {OUT}: {dict(Counter(r[3] for r in rows))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
