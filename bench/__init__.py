"""Benchmarks (`make bench`): each module here has ``run() -> str``, a Markdown section."""
