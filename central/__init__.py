"""The head office's service for many branches: records and reports on PostgreSQL.

Runs off the device. May import ``acd`` and ``config`` only, never ``firmware``
(docs/fleet.md, DESIGN.md).

- ``schema``: the centre's PostgreSQL schema, its migrations, the ``ship`` function
  (``schema_v3``: call quality and IVR visits; ``kpi_sql``: the rollups' SQL pieces).
- ``db``: connecting, migrating, branches and their credentials.
- ``errors``: the exception tree and the one place psycopg errors become ours.
- ``templates``: configuration templates, their assignments to branches and the results.
- ``reports``: KPIs per branch, region, quarter hour, queue, agent; ``funnel``: the menus.
"""
