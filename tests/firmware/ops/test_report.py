"""The simulate report from a known event log: CSV values, the text table, the HTML charts."""

import csv
import datetime as dt
import html.parser
import re
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest

from branchline.acd import QueueEvent, QueueEventKind, kpis_from_log
from branchline.acd.models import QueueModel
from branchline.firmware.ops.report import (
    AGENT_COLUMNS,
    QUEUE_COLUMNS,
    html_report,
    waiting_series,
    write_report,
)

K = QueueEventKind
EPOCH = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
QUEUES = [QueueModel(name="general"), QueueModel(name="vip")]


def state(t, old, new, queue=""):
    return QueueEvent(t, K.AGENTSTATE, agent_id="a1", old_state=old, new_state=new, queue=queue)


def call(t, kind, call_id, **kw):
    return QueueEvent(t, kind, call_id=call_id, queue="general", priority_class="normal", **kw)


LOG = [
    state(0, "logged_out", "ready"),
    call(10, K.ENTERQUEUE, "c1"),
    call(25, K.CONNECT, "c1", agent_id="a1", wait_s=15),
    state(25, "ready", "talking", "general"),
    call(40, K.ENTERQUEUE, "c2"),
    call(50, K.ENTERQUEUE, "c3"),
    call(100, K.ABANDON, "c2", wait_s=60),
    call(145, K.COMPLETECALLER, "c1", agent_id="a1", talk_s=120),
    state(145, "talking", "wrap_up", "general"),
    state(155, "wrap_up", "ready", "general"),
    call(156, K.CONNECT, "c3", agent_id="a1", wait_s=106),
    state(156, "ready", "talking", "general"),
    call(1000, K.ENTERQUEUE, "c4"),
    call(1003, K.ABANDON, "c4", wait_s=3),
    call(1200, K.COMPLETEAGENT, "c3", agent_id="a1", talk_s=1044),
    state(1200, "talking", "wrap_up", "general"),
    state(1210, "wrap_up", "ready", "general"),
]
END = 1800.0


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return write_report(out, LOG, QUEUES, END, EPOCH, title="test day")


def read_csv(path):
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_queue_csv(written):
    columns, rows = read_csv(written.paths[0])
    assert tuple(columns) == QUEUE_COLUMNS
    picked = [{k: r[k] for k in ("queue", "interval", "offered", "answered", "answered_in_sl",
                                 "abandoned", "short_abandoned", "service_level",
                                 "service_level_target", "asa_s", "aht_s")} for r in rows]
    assert picked == [
        {"queue": "general", "interval": "2026-11-23T09:00+08:00", "offered": "3",
         "answered": "2", "answered_in_sl": "1", "abandoned": "1", "short_abandoned": "0",
         "service_level": "33.3", "service_level_target": "80.0", "asa_s": "60.5",
         "aht_s": "130.0"},
        {"queue": "general", "interval": "2026-11-23T09:15+08:00", "offered": "1",
         "answered": "0", "answered_in_sl": "0", "abandoned": "0", "short_abandoned": "1",
         "service_level": "", "service_level_target": "80.0", "asa_s": "", "aht_s": "1054.0"},
        {"queue": "general", "interval": "day", "offered": "4", "answered": "2",
         "answered_in_sl": "1", "abandoned": "1", "short_abandoned": "1",
         "service_level": "33.3", "service_level_target": "80.0", "asa_s": "60.5",
         "aht_s": "592.0"},
        {"queue": "vip", "interval": "day", "offered": "0", "answered": "0",
         "answered_in_sl": "0", "abandoned": "0", "short_abandoned": "0",
         "service_level": "", "service_level_target": "80.0", "asa_s": "", "aht_s": ""},
    ]


def test_agent_csv(written):
    columns, rows = read_csv(written.paths[1])
    assert tuple(columns) == AGENT_COLUMNS
    assert rows == [{
        "agent": "a1", "answered": "2", "completed": "2", "login_s": "1800.0",
        "ready_s": "616.0", "reserved_s": "0.0", "talking_s": "1164.0", "wrap_up_s": "20.0",
        "not_ready_s": "0.0", "occupancy": "65.8", "aht_s": "592.0"}]


def test_text_table(written):
    lines = written.text.splitlines()
    assert lines[0] == "Queues"
    assert lines[3].split() == ["general", "4", "2", "2", "0", "33.3", "80/20s", "60.5",
                                "592.0"]
    assert lines[4].split() == ["vip", "0", "0", "0", "0", "-", "80/20s", "-", "-"]
    assert lines[6] == "Agents"
    assert lines[9].split() == ["a1", "2", "30.0", "65.8", "592.0"]


def test_waiting_series_peaks_per_minute():
    series = waiting_series(LOG, ["general", "vip"], 0.0, END)
    assert series.peaks["general"] == (2, 2, 1) + (0,) * 13 + (1,) + (0,) * 13
    assert series.peaks["vip"] == (0,) * 30


def test_waiting_series_refuses_an_empty_day():
    with pytest.raises(ValueError, match="expected end after start and a positive step"):
        waiting_series(LOG, ["general"], 10.0, 10.0)


class Balanced(html.parser.HTMLParser):
    VOID = frozenset({"meta", "br", "img", "hr", "link", "input"})

    def __init__(self):
        super().__init__()
        self.stack, self.svgs = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.svgs += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def charts(page):
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    return {el.get("id"): el for el in (ET.fromstring(s) for s in svgs)}


def points(element):
    return len(element.get("points").split()) if element.get("points") else 0


SVG = "{http://www.w3.org/2000/svg}"


def test_html_is_well_formed_with_one_svg_per_chart(written):
    page = written.paths[2].read_text(encoding="utf-8")
    checker = Balanced()
    checker.feed(page)
    checker.close()
    assert checker.stack == [] and checker.svgs == 3
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    found = charts(page)
    assert set(found) == {"chart-waiting", "chart-service-level", "chart-agent-states"}

    waiting = {p.get("data-queue"): points(p)
               for p in found["chart-waiting"].iter(f"{SVG}polyline")}
    assert waiting == {"general": 30, "vip": 30}  # one point per minute of the half hour

    sl = found["chart-service-level"]
    assert {p.get("data-queue"): points(p) for p in sl.iter(f"{SVG}polyline")} == {
        "general": 1, "vip": 0}  # only 09:00 had a service level to show
    assert [t.get("data-queue") for t in sl.iter(f"{SVG}line") if t.get("class") == "target"
            ] == ["general", "vip"]
    assert len(list(sl.iter(f"{SVG}circle"))) == 1

    states = {p.get("data-state"): points(p)
              for p in found["chart-agent-states"].iter(f"{SVG}polygon")}
    assert states == dict.fromkeys(["talking", "wrap_up", "reserved", "ready", "not_ready"], 4)


def test_service_level_point_height_matches_the_value():
    report = kpis_from_log(LOG, QUEUES, END)
    page = html_report(report, waiting_series(LOG, ["general", "vip"], 0.0, END), QUEUES, EPOCH)
    sl = charts(page)["chart-service-level"]
    general = next(p for p in sl.iter(f"{SVG}polyline") if p.get("data-queue") == "general")
    target = next(t for t in sl.iter(f"{SVG}line") if t.get("data-queue") == "general")
    y_point = float(general.get("points").split(",")[1])
    y_target = float(target.get("y1"))
    # 33.3 % and 80 % on the same linear axis from the bottom (0 %) of the plot.
    bottom = 250 - 28
    assert (bottom - y_point) / (bottom - y_target) == pytest.approx(33.333 / 80, abs=0.01)
