"""The phases of an IVR session: what it is waiting for (see ``_session``'s theory of
operation)."""

import enum


class Phase(enum.Enum):
    PROMPTING = "prompting"
    AWAITING = "awaiting"
    PLAYING = "playing"
    HOST = "host"
    RECORDING = "recording"
    QUEUED = "queued"
    TRANSFERRING = "transferring"
    WITH_AGENT = "with_agent"
    ENDED = "ended"
