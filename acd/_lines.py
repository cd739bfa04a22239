"""Where calls wait and ready agents stand: one `Line` per (queue, skill set).

Calls that need the same skills in the same queue compete for the same agents, so they share a
line. A line holds:

* `by_priority`: a heap of `(-priority, seq, token, call_id)` - the head is the highest class,
  first come first served within it (`seq` is the arrival order, kept when a call goes back to
  its place after a ring-no-answer or a call-back retry);
* `aging`: a heap of `(promote_at, seq, token, call_id)` - the head is the caller who reaches
  the aging bound first; once `now >= promote_at` that caller goes before any class;
* `rank`: per priority, the sorted arrival numbers of the calls waiting, for positions;
* `agents`: a heap of `(strategy key, order, epoch, agent_id)` of the ready agents who may take
  these calls.

Entries are never removed from the middle of a heap; a call or agent that moved on leaves a stale
entry that is skipped when it reaches the top (lazy deletion, as in the heapq documentation).
`token` and `epoch` tell a live entry from a stale one. Every operation is O(log n) amortised.
"""

import bisect
import heapq
from collections.abc import Callable


class Line:
    __slots__ = ("agents", "aging", "by_priority", "queue", "rank", "skills", "staffed")

    def __init__(self, queue: str, skills: frozenset[str]):
        self.queue = queue
        self.skills = skills
        self.by_priority: list[tuple[int, int, int, str]] = []
        self.aging: list[tuple[float, int, int, str]] = []
        self.rank: dict[int, list[int]] = {}
        self.agents: list[tuple[tuple, int, int, str]] = []
        self.staffed = 0  # eligible agents in ready, reserved, talking or wrap-up

    # --- calls ---------------------------------------------------------------------------

    def add_call(self, priority: int, seq: int, token: int, call_id: str, promote_at: float):
        heapq.heappush(self.by_priority, (-priority, seq, token, call_id))
        heapq.heappush(self.aging, (promote_at, seq, token, call_id))
        bisect.insort(self.rank.setdefault(priority, []), seq)

    def remove_call(self, priority: int, seq: int) -> None:
        """Forget a call for positions; its heap entries go stale through its token."""
        seqs = self.rank[priority]
        del seqs[bisect.bisect_left(seqs, seq)]

    def position(self, priority: int, seq: int) -> int:
        """1 + callers who go first: every higher class, then earlier arrivals in the class."""
        ahead = sum(len(s) for p, s in self.rank.items() if p > priority)
        return ahead + bisect.bisect_left(self.rank.get(priority, ()), seq) + 1

    def head(self, now: float, live: Callable[[str, int], bool]) -> str | None:
        """The call this line serves next: an overdue caller by aging, else the top class."""
        aging = self.aging
        while aging and not live(aging[0][3], aging[0][2]):
            heapq.heappop(aging)
        if aging and aging[0][0] <= now:
            return aging[0][3]
        top = self.by_priority
        while top and not live(top[0][3], top[0][2]):
            heapq.heappop(top)
        return top[0][3] if top else None

    # --- agents --------------------------------------------------------------------------

    def add_agent(self, key: tuple, order: int, epoch: int, agent_id: str) -> None:
        heapq.heappush(self.agents, (key, order, epoch, agent_id))

    def first_agent(self, live: Callable[[str, int], bool]) -> str | None:
        agents = self.agents
        while agents and not live(agents[0][3], agents[0][2]):
            heapq.heappop(agents)
        return agents[0][3] if agents else None
