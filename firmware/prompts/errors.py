"""The prompt store's exceptions.

    PromptError                 base
    +-- PromptNameError         a name or language that is not allowed (the caller's mistake)
    +-- PromptMissing           no text and no recording, or not built yet (the set-up's gap)
    +-- SynthesisError          espeak-ng is missing or failed (the machine's problem)
    +-- RecordingError          a recorded file cannot be used (the recording's problem)
"""


class PromptError(Exception):
    """Base of the prompt store's errors."""


class PromptNameError(PromptError, ValueError):
    """A prompt name or language that is not allowed."""


class PromptMissing(PromptError, LookupError):
    """A prompt has neither text nor recording in a language, or is not built."""


class SynthesisError(PromptError):
    """Speech synthesis is unavailable or failed."""


class RecordingError(PromptError):
    """A recorded prompt file cannot be decoded or is not plausible."""
