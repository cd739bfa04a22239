"""Checking a flow's ``older_callers`` settings (docs/ivr-insight.md).

``older_caller_findings(flow, graph, start, reachable, prompts, queue_classes)`` yields
``Finding``s, which the validator turns into its issues (errors or warnings):

Errors: the person prompt missing in a language of the flow; the mode's key equal to a
global key, or to (the start of) an option of a menu where callers can still press it (a
menu reached before any choice); a queue the flow sends older callers to with no class of
``queue_priority``, or whose class for them is its default class or the class other callers
of the flow wait in (they would get no priority of their own).
Warnings: no person prompt, or one that is never heard because the flow has no operator key;
a ``host_var`` no host node sets.

The speed's range (0.5 to 1.0) is checked by the model (``OlderCallers``).
A queue's classes come from the ACD's model as plain data (``QueueClasses``); which class a
priority takes mirrors the runtime (``firmware.calls.session``): the highest class whose
priority is not above it, the default class for priority 0 or when none is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from branchline.ivr._catalog import PromptCatalog
from branchline.ivr._graph import Graph
from branchline.ivr._model import Flow, MenuNode, Say

__all__ = ["Finding", "QueueClasses", "older_caller_findings"]

_ORDER = {"zh": 0, "yue": 1, "en": 2}


@dataclass(frozen=True, slots=True)
class QueueClasses:
    """A queue's priority classes (name -> priority) and its default class."""

    classes: Mapping[str, int]
    default: str

    def for_priority(self, priority: int) -> str:
        eligible = [(p, name) for name, p in self.classes.items() if p <= priority]
        if priority == 0 or not eligible:
            return self.default
        return max(eligible, key=lambda pair: pair[0])[1]

    def listed(self) -> str:
        return ", ".join(f"{name} {p}" for name, p in self.classes.items())


@dataclass(frozen=True, slots=True)
class Finding:
    error: bool
    path: str
    key: str
    fix_key: str
    params: Mapping[str, object] = field(default_factory=dict)


def older_caller_findings(flow: Flow, graph: Graph, start: str, reachable: set[str],
                          prompts: PromptCatalog,
                          queue_classes: Mapping[str, QueueClasses] | None = None
                          ) -> Iterator[Finding]:
    older = flow.older_callers
    if older is None:
        return
    yield from _person_prompt(flow, prompts)
    if older.key is not None:
        yield from _mode_key(flow, graph, start)
    if older.host_var is not None and not any(
            node.kind == "host" and older.host_var in node.results
            for name, _, node in flow.all_nodes() if name in reachable):
        yield Finding(False, "older_callers.host_var", "ivr.older_host_var_unset",
                      "ivr.fix.older_host_var", {"var": older.host_var})
    if queue_classes:
        yield from _queue_classes(flow, graph, reachable, queue_classes)


def _person_prompt(flow: Flow, prompts: PromptCatalog) -> Iterator[Finding]:
    older = flow.older_callers
    if not older.person_prompt:
        yield Finding(False, "older_callers.person_prompt", "ivr.older_no_person_prompt",
                      "ivr.fix.older_person_prompt")
        return
    if not flow.keys.operator:
        yield Finding(False, "older_callers.person_prompt", "ivr.older_person_prompt_unheard",
                      "ivr.fix.older_operator_key")
    for i, item in enumerate(older.person_prompt):
        if isinstance(item, Say):
            continue
        missing = sorted((lang for lang in flow.languages if not prompts.has(item, lang)),
                         key=_ORDER.__getitem__)
        if missing:
            yield Finding(True, f"older_callers.person_prompt.{i}",
                          "ivr.older_person_prompt_missing",
                          "ivr.fix.add_prompt_language" if len(missing) == 1
                          else "ivr.fix.add_prompt_languages",
                          {"prompt": item, "languages": ", ".join(missing)})


def _first_menus(flow: Flow, graph: Graph, start: str) -> list[str]:
    """The menus a caller can be in before choosing anything (the runtime takes the mode's
    key until the first selection in a menu or survey)."""
    seen, todo, menus = {start}, [start], []
    while todo:
        name = todo.pop()
        node = flow.node(name)
        if isinstance(node, MenuNode):
            menus.append(name)
            continue
        if node.kind == "survey":
            continue
        for edge in graph.out(name):
            if edge.target is not None and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return sorted(menus)


def _mode_key(flow: Flow, graph: Graph, start: str) -> Iterator[Finding]:
    key = flow.older_callers.key
    for role in ("operator", "back", "repeat"):
        if getattr(flow.keys, role) == key:
            yield Finding(True, "older_callers.key", f"ivr.older_key_global_{role}",
                          "ivr.fix.older_key_other", {"key": key})
            return
    for menu in _first_menus(flow, graph, start):
        for option in flow.node(menu).options:
            if option.startswith(key):
                yield Finding(True, "older_callers.key", "ivr.older_key_option",
                              "ivr.fix.older_key_other", {"key": key, "menu": menu,
                                                          "option": option})


def _queue_classes(flow: Flow, graph: Graph, reachable: set[str],
                   queue_classes: Mapping[str, QueueClasses]) -> Iterator[Finding]:
    wanted = flow.older_callers.queue_priority
    queued = [(name, node) for name, _, node in flow.all_nodes()
              if name in reachable and node.kind == "queue" and node.queue in queue_classes]
    done: set[str] = set()
    for _, node in queued:
        queue = queue_classes[node.queue]
        # A node that already queues at or above the older callers' priority serves them
        # there as it serves everyone (the VIP queue, say): nothing to check.
        if node.priority > wanted or node.queue in done:
            continue
        done.add(node.queue)
        klass = queue.for_priority(wanted)
        params = {"queue": node.queue, "priority": wanted, "klass": klass,
                  "classes": queue.listed()}
        if wanted > 0 and wanted not in queue.classes.values():
            yield Finding(True, "older_callers.queue_priority", "ivr.older_class_missing",
                          "ivr.fix.older_class_add", params)
        elif klass == queue.default:
            yield Finding(True, "older_callers.queue_priority", "ivr.older_class_default",
                          "ivr.fix.older_class_own", params)
        else:
            sharing = sorted(other for other, n in queued if n.queue == node.queue
                             and queue.for_priority(n.priority) == klass)
            if sharing:
                yield Finding(True, "older_callers.queue_priority", "ivr.older_class_shared",
                              "ivr.fix.older_class_own", {**params, "node": sharing[0]})
