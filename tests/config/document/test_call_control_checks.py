"""The checker's look at call_control against the rest of the document: codes that clash
with the agent codes, unknown hold music, monitor permissions and transfer queues naming what
is not configured; each problem in English and Chinese."""

from __future__ import annotations

import pytest

from branchline.config.document.loading import check_document, default_document_text
from branchline.config.web.i18n.issues import ISSUES_ZH


def _with(section: str) -> str:
    return default_document_text() + "call_control:\n" + section


def problems(text):
    _, report = check_document(text)
    return [(i.path, i.key, i.fix_key, str(i)) for i in report.errors
            if i.path.startswith("call_control")]


def test_a_sound_section_passes_and_its_hold_music_counts_as_used():
    text = _with("  music_on_hold: main.long\n  queues: {'1': general}\n"
                 "  supervisors: [{user: wang, station: fxs3, agents: ['1001'], "
                 "queues: [vip]}]\n")
    _, report = check_document(text)
    assert report.ok, report.errors
    assert not [w for w in report.warnings if w.path == "prompts.main.long"]


@pytest.mark.parametrize(("section", "path", "key", "said"), [
    ("  codes: {conference: '*12#'}\n", "call_control.codes.conference", "doc.call_code_clash",
     "conference '*12#' also reads as the agent code ready '*12#'"),
    ("  codes: {listen: '*11{agent}#'}\n", "call_control.codes.listen", "doc.call_code_clash",
     "listen '*11{agent}#' also reads as the agent code login '*11{agent_id}#'"),
    ("  music_on_hold: hold.musik\n", "call_control.music_on_hold", "doc.hold_music_unknown",
     "music on hold 'hold.musik' is not a prompt of the document; name a prompt of the "
     "document, like"),
    ("  supervisors: [{user: wang, station: fxs3, agents: ['1009']}]\n",
     "call_control.supervisors.0.agents.0", "doc.monitor_unknown_agent",
     "supervisor wang may monitor agent '1009', which is not configured; use one of 1001"),
    ("  supervisors: [{user: wang, station: fxs3, queues: [loans]}]\n",
     "call_control.supervisors.0.queues.0", "doc.monitor_unknown_queue",
     "supervisor wang may monitor queue 'loans', which is not configured; use one of general"),
    ("  supervisors: [{user: wang, station: fxs9}]\n", "call_control.supervisors.0.station",
     "doc.supervisor_station", "the board has no station 'fxs9' for the supervisor; use one "
     "of its stations: fxs1"),
    ("  queues: {'2': loans}\n", "call_control.queues.2", "doc.transfer_queue_unknown",
     "transfers go to queue 'loans', which is not configured; use one of general"),
])
def test_each_problem_says_where_what_and_what_would_be_right(section, path, key, said):
    [(where, found_key, fix_key, text)] = problems(_with(section))
    assert (where, found_key) == (path, key)
    assert said in text
    assert found_key in ISSUES_ZH and fix_key in ISSUES_ZH  # the page says it in Chinese too
