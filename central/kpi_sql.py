"""The SQL pieces of the centre's KPI rollups, shared by the schema's migrations.

The rollups (``interval_kpis``, ``daily_kpis``, ``branch_days``) all carry the same
counters; ``ship`` adds each inserted call to them with ``KPI_SUMS`` (a SELECT list over a
row set ``c``) and ``ADD_UP`` (the ON CONFLICT update). Version 3 added the call quality
counters (``QUALITY_*``). A migration's text never changes once released: these strings are
only ever extended by new names, never edited.
"""

__all__ = ["ADD_UP", "ADD_UP_QUALITY", "KPI_COLUMNS", "KPI_NAMES", "KPI_SUMS", "POOR_MOS",
           "QUALITY_COLUMNS", "QUALITY_NAMES", "QUALITY_SUMS"]

KPI_COLUMNS = """
        calls           integer NOT NULL DEFAULT 0,
        self_served     integer NOT NULL DEFAULT 0,
        offered         integer NOT NULL DEFAULT 0,
        answered        integer NOT NULL DEFAULT 0,
        answered_in_sl  integer NOT NULL DEFAULT 0,
        abandoned       integer NOT NULL DEFAULT 0,
        short_abandoned integer NOT NULL DEFAULT 0,
        timed_out       integer NOT NULL DEFAULT 0,
        callbacks       integer NOT NULL DEFAULT 0,
        wait_answered_s double precision NOT NULL DEFAULT 0,
        handle_s        double precision NOT NULL DEFAULT 0,
        survey_sum      integer NOT NULL DEFAULT 0,
        survey_n        integer NOT NULL DEFAULT 0"""

# How one call adds to the counters above (the rollup's SELECT list, over a row set "c").
KPI_SUMS = """
        count(*),
        count(*) FILTER (WHERE c.outcome = 'self-served'),
        count(*) FILTER (WHERE c.queue IS NOT NULL),
        count(*) FILTER (WHERE c.queue IS NOT NULL AND c.outcome = 'answered'),
        count(*) FILTER (WHERE c.queue IS NOT NULL AND c.outcome = 'answered'
                         AND c.wait_seconds <= CASE WHEN c.priority_class = 'vip'
                                                    THEN 10 ELSE 20 END),
        count(*) FILTER (WHERE c.queue IS NOT NULL AND c.outcome = 'abandoned-in-queue'
                         AND c.wait_seconds >= 5),
        count(*) FILTER (WHERE c.queue IS NOT NULL AND c.outcome = 'abandoned-in-queue'
                         AND c.wait_seconds < 5),
        count(*) FILTER (WHERE c.queue IS NOT NULL
                         AND c.outcome IN ('overflowed', 'appliance-restarted')),
        count(*) FILTER (WHERE c.outcome = 'callback'),
        coalesce(sum(c.wait_seconds) FILTER (WHERE c.queue IS NOT NULL
                                             AND c.outcome = 'answered'), 0),
        coalesce(sum(c.talk_seconds + c.wrapup_seconds) FILTER (WHERE c.outcome = 'answered'),
                 0),
        coalesce(sum(c.survey_score), 0),
        count(c.survey_score)"""

KPI_NAMES = ("calls", "self_served", "offered", "answered", "answered_in_sl", "abandoned",
             "short_abandoned", "timed_out", "callbacks", "wait_answered_s", "handle_s",
             "survey_sum", "survey_n")

ADD_UP = ", ".join(f"{n} = t.{n} + excluded.{n}" for n in KPI_NAMES)

# A SIP call below this MOS counts as poor: R 70, the edge of ITU-T G.109's "some users
# dissatisfied", is a MOS of about 3.6 by the E-model's mapping (ITU-T G.107 Annex B).
POOR_MOS = 3.6

QUALITY_COLUMNS = ("quality_loss_percent", "quality_jitter_ms", "quality_rtt_ms", "quality_r",
                   "quality_mos")
# Calls with a quality (SIP calls), their MOS sum, those below POOR_MOS, loss and jitter sums.
QUALITY_NAMES = ("quality_n", "mos_sum", "mos_poor", "loss_sum", "jitter_sum")
QUALITY_SUMS = f"""
        count(c.quality_mos),
        coalesce(sum(c.quality_mos), 0),
        count(*) FILTER (WHERE c.quality_mos < {POOR_MOS}),
        coalesce(sum(c.quality_loss_percent) FILTER (WHERE c.quality_mos IS NOT NULL), 0),
        coalesce(sum(c.quality_jitter_ms) FILTER (WHERE c.quality_mos IS NOT NULL), 0)"""
ADD_UP_QUALITY = ", ".join(f"{n} = t.{n} + excluded.{n}" for n in QUALITY_NAMES)
