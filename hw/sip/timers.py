"""Every timer of a user agent in one heap, so a tick costs what is due, not what exists.

Theory of operation. Whatever keeps timers (a transaction's A-M, a call's 2xx resend and
session timers, a registration's refresh) keeps them in a ``TimerTable``: a dict of name ->
entry, where ``entry[0]`` is the due time. Setting an entry pushes it on the ``TimerHeap``
the table is attached to; removing or replacing one does nothing to the heap: an entry is
live while its table still holds that very object (lazy deletion, as Python's heapq
documentation does it), so a cancelled or re-armed timer, or one of a transaction that ended
early, is skipped when its time comes and never fires::

    heap = TimerHeap()
    heap.attach(table, fire)        # fire(name, now) -> list: what the timer's owner does
    table["B"] = (now + 32.0, 0.0)  # pushed
    heap.deadline                   # the earliest live entry's time (stale tops dropped)
    for fire, name in heap.due(now):  # each live entry due by now, earliest first, once;
        out += fire(name, now)        # ones its owner sets while firing come out too

The heap is compacted (stale entries dropped) when it holds more than twice the entries it
held after the last compaction, so cancelled timers cost memory only for a while.
"""

import heapq
from itertools import count

__all__ = ["TimerHeap", "TimerTable"]

_COMPACT_FLOOR = 1024  # below this many entries the heap is never compacted


class TimerTable(dict):
    """name -> entry (``entry[0]``: the due time) that tells its heap of every entry set."""

    __slots__ = ("fire", "heap")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.heap = None
        self.fire = None

    def __setitem__(self, name, entry):
        dict.__setitem__(self, name, entry)
        if self.heap is not None:
            self.heap.push(self, name, entry)

    def __reduce__(self):  # copies and pickles are plain tables, attached to no heap
        return (TimerTable, (dict(self),))


class TimerHeap:
    """See the module docstring."""

    def __init__(self):
        self._entries = []  # (due, seq, table, name, entry); seq keeps equal times in order
        self._seq = count()
        self._compact_at = _COMPACT_FLOOR

    def __len__(self):
        return len(self._entries)

    def attach(self, table, fire):
        """Let ``table``'s timers fire through ``fire(name, now)``, those it holds already too."""
        if table.heap is not None and table.heap is not self:
            raise ValueError("a TimerTable belongs to one heap")
        again, table.heap, table.fire = table.heap is self, self, fire
        if not again:
            for name, entry in table.items():
                self.push(table, name, entry)

    def push(self, table, name, entry):
        heapq.heappush(self._entries, (entry[0], next(self._seq), table, name, entry))
        if len(self._entries) > self._compact_at:
            self._compact()

    @property
    def deadline(self):
        entries = self._entries
        while entries:
            due, _, table, name, entry = entries[0]
            if table.get(name) is entry:
                return due
            heapq.heappop(entries)
        return None

    def due(self, now):
        """(fire, name) of every live entry due at or before ``now``, earliest first."""
        entries = self._entries
        while entries and entries[0][0] <= now:
            _, _, table, name, entry = heapq.heappop(entries)
            if table.get(name) is entry:
                yield table.fire, name

    def _compact(self):
        # In place: a ``due`` iteration in progress holds the list.
        self._entries[:] = [e for e in self._entries if e[2].get(e[3]) is e[4]]
        heapq.heapify(self._entries)
        self._compact_at = max(_COMPACT_FLOOR, 2 * len(self._entries))
