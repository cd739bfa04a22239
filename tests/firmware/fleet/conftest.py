from pg_harness import central, postgres  # noqa: F401  (fixtures)
