"""Workforce planning on the appliance: history from the records, plans, rosters, checks.

- ``history``: queue figures per day and 15-minute interval and agent state seconds, read from
  records.db; the calendar (holidays, 调休 make-up days) from the flows' schedule nodes.
- ``plan``: a day's forecast and staffing per queue, with the forecast's held-out error.
- ``roster``: shifts and breaks per agent per day, validated and versioned (``DataDir.rosters``).
- ``check``: a roster tested before the day: the forecast and roster as a scenario through
  ``simulate``, beside Erlang's figures.

The computations themselves are sans-I/O in ``branchline.acd.planning``; docs/planning.md
has the formulas.
"""

from branchline.firmware.planning.history import PlanningHistory, calendar_of, read_history
from branchline.firmware.planning.plan import Plan, QueuePlan, make_plan

__all__ = ["Plan", "PlanningHistory", "QueuePlan", "calendar_of", "make_plan", "read_history"]
