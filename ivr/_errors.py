"""The ivr exception tree.

    IvrError                      base of every error raised by branchline.ivr
    ├── FlowError (ValueError)    the flow or prompt document is wrong (the other side):
    │                             .path names the field ("nodes.main_menu.options.1"),
    │                             .problem says what is wrong, .fix what would be right
    └── SpokenValueError          a value cannot be spoken (the flow or host sent a bad value)
        (ValueError)

The engine itself never raises on caller or runtime input: an event it cannot use is ignored
and traced. An exception out of ``Session`` means we did it wrong (a bug), or the session was
built from a flow that was never validated. No message ever contains a digit the caller typed.
"""

from __future__ import annotations


class IvrError(Exception):
    """Base of the ivr exception tree."""


class FlowError(IvrError, ValueError):
    """A flow or prompt document is invalid at ``path``."""

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path or '<document>'}: {problem}; {fix}")


class SpokenValueError(IvrError, ValueError):
    """A value cannot be turned into speech units."""
