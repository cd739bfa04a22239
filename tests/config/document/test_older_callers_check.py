"""The document checker hands the queues' classes to the flow checker, so the older callers'
class is checked against the queues a flow really sends them to, and a speed out of range
reads as what it means."""

from __future__ import annotations

from branchline.config.document.loading import check_document, default_document_text

OLDER_CLASS = "        - {name: older, priority: 5, service_level_s: 15, service_level_pct: 85}\n"


def issues(text):
    _, report = check_document(text)
    return [(i.path, i.key, i.fix_key) for i in report.errors]


def test_the_default_document_gives_older_callers_a_class_of_their_own():
    text = default_document_text()
    assert OLDER_CLASS in text
    assert [i for i in issues(text) if i[1].startswith("ivr.older_")] == []


def test_a_queue_without_the_older_callers_class_is_an_error_at_the_flow():
    found = issues(default_document_text().replace(OLDER_CLASS, ""))
    assert found == [("flows.bank.older_callers.queue_priority", "ivr.older_class_missing",
                      "ivr.fix.older_class_add")]


def test_a_speed_out_of_range_is_an_error_with_its_meaning():
    text = default_document_text().replace("      speed: 0.8\n", "      speed: 1.5\n")
    assert issues(text) == [("flows.bank.older_callers.speed", "ivr.older_speed",
                             "ivr.fix.older_speed")]
