from pg_harness import central, postgres  # noqa: F401  (fixtures)
from runtime_harness import bank_url, prompts_dir  # noqa: F401  (fixtures)
