"""The head office's service for many branches: records and reports on PostgreSQL.

Runs off the device. May import ``acd`` and ``config`` only, never ``firmware``
(docs/fleet.md, DESIGN.md).

- ``schema``: the centre's PostgreSQL schema, its migrations, the ``ship`` function.
- ``db``: connecting, migrating, branches and their credentials.
- ``errors``: the exception tree and the one place psycopg errors become ours.
- ``templates``: configuration templates, their assignments to branches and the results.
"""
