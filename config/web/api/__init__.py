"""The JSON API under ``/api``, one router a module.

- ``agents_live``: Agent state from the web: what a supervisor does for an agent who cannot reach
  the phone.
- ``config``: The caller's draft of the configuration document: read (viewer+), edit (admin).
- ``live``: Live state: the appliance's latest snapshot, once or as a stream of server-sent events.
- ``menus``: The menus seen from the callers' side: funnel per node, containment, reasons for a
  person, repeat calls, two versions side by side (supervisor and above).
- ``prompts``: Prompts: list them, play them in the browser, upload a recording, synthesise a
  placeholder.
- ``reports``: Call-centre reports from the records database (supervisor and above).
- ``session``: First-run setup, login, logout and the user's own session settings.
- ``system``: The appliance itself: board and ports, self-test, logs, backup and restore, the audit
  log.
- ``tryit``: Try it over HTTP: a simulated call through the caller's draft (admin only).
- ``users``: The web service's users (admin only); every change is audited (never the password).
- ``versions``: Published versions: history, one version, differences, publish, rollback.
"""

