"""Prompts: the store of 8 kHz prompt audio, synthesis and recordings.

- ``errors``: The prompt store's exceptions.
- ``speech``: Placeholder speech for prompts: text in Mandarin, Cantonese or English to audio by
  espeak-ng.
- ``store``: The prompt store: every prompt and speech unit as 8 kHz audio, built once, held in
  memory.
"""

from branchline.firmware.prompts.store import (
    LANGUAGES,
    PROMPT_LEVEL_DBM0,
    BuildProblem,
    BuildReport,
    PromptError,
    PromptMissing,
    PromptNameError,
    PromptStore,
    RecordingError,
    SynthesisError,
    check_name,
)

__all__ = [
    "LANGUAGES",
    "PROMPT_LEVEL_DBM0",
    "BuildProblem",
    "BuildReport",
    "PromptError",
    "PromptMissing",
    "PromptNameError",
    "PromptStore",
    "RecordingError",
    "SynthesisError",
    "check_name",
]
