"""lib.svg: well-formed, accessible, escaped charts whose geometry follows the numbers."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

from crds_server.lib import svg

NS = {"s": "http://www.w3.org/2000/svg"}
UTC = datetime.UTC


def _day(n: int) -> datetime.datetime:
    return datetime.datetime(2024, 1, 1, tzinfo=UTC) + datetime.timedelta(days=n)


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def test_a_timeline_is_well_formed_titled_and_described():
    root = _parse(svg.timeline("t1", ["acs", "wfc3"], [_day(0), _day(10)],
                               [svg.Mark("acs", _day(10), "acs darkfile")], "Title <&>", "Desc \"q\""))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "t1-title t1-desc"
    assert root.find("s:title", NS).text == "Title <&>" and root.find("s:desc", NS).text == 'Desc "q"'
    labels = [t.text for t in root.iter(f"{{{NS['s']}}}text")]
    assert labels[:2] == ["acs", "wfc3"] and "2024-01-01" in labels and "2024-01-11" in labels


def test_timeline_marks_go_right_with_time_and_down_with_the_row_order():
    marks = [svg.Mark("acs", _day(0), "a"), svg.Mark("acs", _day(30), "b"), svg.Mark("wfc3", _day(15), "c"),
             svg.Mark("nosuch", _day(5), "left out")]
    root = _parse(svg.timeline("t", ["acs", "wfc3"], [_day(0), _day(30)], marks, "t", "d"))
    circles = {c.find("s:title", NS).text: c for c in root.iter(f"{{{NS['s']}}}circle")}
    assert set(circles) == {"a", "b", "c"}
    x = {k: float(c.get("cx")) for k, c in circles.items()}
    y = {k: float(c.get("cy")) for k, c in circles.items()}
    assert x["a"] < x["c"] < x["b"] and abs((x["c"] - x["a"]) - (x["b"] - x["c"])) < 0.2
    assert y["a"] == y["b"] < y["c"]


def test_bigger_changes_get_bigger_marks_up_to_a_bound():
    marks = [svg.Mark("acs", _day(0), "one", 1), svg.Mark("acs", _day(1), "five", 5),
             svg.Mark("acs", _day(2), "many", 500)]
    root = _parse(svg.timeline("t", ["acs"], [], marks, "t", "d"))
    radius = {c.find("s:title", NS).text: float(c.get("r")) for c in root.iter(f"{{{NS['s']}}}circle")}
    assert radius["one"] < radius["five"] < radius["many"] <= 12


def test_a_timeline_of_one_moment_or_none_still_draws():
    one = _parse(svg.timeline("t", ["acs"], [_day(3)], [svg.Mark("acs", _day(3), "only")], "t", "d"))
    assert len(list(one.iter(f"{{{NS['s']}}}circle"))) == 1
    empty = _parse(svg.timeline("t", [], [], [], "t", "nothing"))
    assert empty.find("s:desc", NS).text == "nothing"


def test_bars_are_as_long_as_their_values_and_coloured_by_group():
    bars = [svg.Bar("ACS", "darkfile", 40), svg.Bar("ACS", "biasfile", 10), svg.Bar("WFC3", "<b>", 20)]
    root = _parse(svg.bar_chart("b", bars, "t", "d"))
    rects = [r for r in root.iter(f"{{{NS['s']}}}rect") if r.find("s:title", NS) is not None]
    width = {r.find("s:title", NS).text: float(r.get("width")) for r in rects}
    assert width["ACS darkfile: 40"] == 4 * width["ACS biasfile: 10"] == 2 * width["WFC3 <b>: 20"]
    fills = [r.get("fill") for r in rects]
    assert fills[0] == fills[1] != fills[2]
    assert "&lt;b&gt;" in svg.bar_chart("b", bars, "t", "d")


def test_no_chart_has_script_or_outside_references():
    text = svg.bar_chart("b", [svg.Bar("x", "<script>alert(1)</script>", 1)], "<script>", "d") + \
        svg.timeline("t", ["<script>"], [_day(0)], [svg.Mark("<script>", _day(0), "<script>")], "t", "d")
    assert "<script" not in text and "href" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
