"""Inline SVG charts: well-formed, values readable in <desc>, gaps for missing values."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from branchline.config.web.charts import bar_chart, line_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("value", "top"), [(0, 1.0), (0.8, 1.0), (1.2, 2.0), (3, 5.0),
                                             (7, 10.0), (23, 25.0), (0.95, 1.0)])
def test_axis_top_is_a_round_number_at_or_above_the_largest_value(value, top):
    assert nice_ceiling(value) == pytest.approx(top)


def test_line_chart_draws_one_line_per_series_with_a_gap_for_none():
    svg = str(line_chart(["09:00", "09:15", "09:30", "09:45"],
                         {"offered": [3, 5, None, 4], "answered": [3, 4, 2, 4]},
                         title="Calls", unit="calls"))
    root = ET.fromstring(svg)
    lines = root.findall(f"{SVG}polyline")
    # offered breaks at the gap: a line of 2 points, then a lone point (a dot only)
    assert sorted(len(p.get("points").split()) for p in lines) == [2, 4]
    assert len(root.findall(f"{SVG}circle")) == 7
    assert root.find(f"{SVG}desc").text == "offered: 3 calls, 5 calls, -, 4 calls; " \
                                           "answered: 3 calls, 4 calls, 2 calls, 4 calls"
    assert root.find(f"{SVG}title").text == "Calls"


def test_bar_chart_shows_percentages_and_the_target_line():
    svg = str(bar_chart({"general": 0.82, "vip": 0.95}, title="SL", unit="%", target=0.8))
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}rect[@class='bar s0']")) == 2
    assert [t.text for t in root.findall(f"{SVG}text[@class='value']")] == ["82%", "95%"]
    target = root.find(f"{SVG}line[@class='target']")
    bars = root.findall(f"{SVG}rect[@class='bar s0']")
    # the 80 % line sits at the top of a bar 80 % high (axis top 100 %)
    y0 = float(bars[0].get("y")) + float(bars[0].get("height"))
    full = y0 - float(target.get("y1"))
    assert float(bars[0].get("height")) == pytest.approx(full * 0.82 / 0.8, rel=1e-3)


def test_no_data_says_so_and_labels_are_escaped():
    svg = str(bar_chart({}, title="<b>", empty="nothing yet"))
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}text[@class='empty']").text == "nothing yet"
    assert "<b>" not in svg


def test_series_length_mismatch_is_refused_with_the_counts():
    with pytest.raises(ValueError, match="series 'a' has 1 values for 2 labels"):
        line_chart(["x", "y"], {"a": [1]}, title="t")
