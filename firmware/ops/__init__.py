"""Operations: logging, metrics, drain, systemd and the simulate report.

- ``drain``: Graceful drain on SIGTERM / SIGINT: no new calls, active calls finish within a bound,
  exit 0.
- ``logs``: Structured logs: one line per event, key=value or JSON, the call id on every line of a
  call,
- ``metrics``: Prometheus metrics of the running appliance.
- ``report``: The simulate KPI report: a text table, CSV files and one self-contained HTML page of
  charts.
- ``systemd``: systemd integration: readiness, status, the watchdog and stopping, over
  ``$NOTIFY_SOCKET``.
"""

