"""Reading the configuration document's YAML: plain data, and where each field was written.

``parse_yaml(text) -> ParsedYaml`` gives the document as plain dicts, lists and scalars plus
``lines``: the 1-based line of every field by its dotted path ("acd.agents.2.station"), so
an issue can say where to look. A document that is not YAML raises :class:`YamlProblem`
with the line and column of the fault; ``check_document`` turns it into an issue.

Two YAML 1.1 habits are refused or undone, because a keypad cares: mapping keys are kept as
the text written (``010`` stays "010", never the octal number 8, and ``1`` and ``"1"`` are
the same key), and a key written twice in one mapping is a problem instead of the last one
silently winning. Anchors and aliases work, but an alias that contains itself, or aliases
that expand past ``MAX_NODES`` values (the "billion laughs"), are problems, not a hang.

Limits are checked on the parser's events, before anything nests or is built: collections
nested more than ``MAX_DEPTH`` deep (through aliases too), a scalar over ``MAX_SCALAR``
characters, or a number written with more than ``MAX_NUMBER`` characters raise
:class:`YamlBeyondLimits` (a ``YamlProblem``), never Python's recursion or integer-string
limits. ``beyond_limits(text)`` says whether a text breaks them, for callers that must refuse
to store it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from branchline.config.document.issue_texts import said

__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_NUMBER", "MAX_SCALAR", "ParsedYaml",
           "YamlBeyondLimits", "YamlProblem", "beyond_limits", "parse_yaml"]

# The default document has about 1,500 values; this leaves room for any real branch.
MAX_NODES = 200_000
# The default document nests 8 deep and its longest text is a prompt of a few sentences.
# Each level costs a few Python frames when composed, walked and checked, so the depth stays
# far below the interpreter's recursion limit (1,000).
MAX_DEPTH = 50
MAX_SCALAR = 10_000
# Python refuses to read integers over 4,300 digits; no setting needs more than a few.
MAX_NUMBER = 100
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


class YamlProblem(ValueError):
    """The text is not a usable YAML document: ``line``/``column`` (1-based) say where;
    ``key``, ``fix_key`` and ``params`` name the words in ``issue_texts``."""

    def __init__(self, key: str, fix_key: str, line: int | None, column: int | None,
                 path: str = "", /, **params: object) -> None:
        self.key = key
        self.fix_key = fix_key
        self.params = params
        self.message = said(key, params)
        self.fix = said(fix_key, params)
        self.line = line
        self.column = column
        self.path = path
        where = f"line {line}, column {column}" if line is not None else "the document"
        super().__init__(f"{where}: {self.message}; {self.fix}")


class YamlBeyondLimits(YamlProblem):
    """The text nests too deep or holds an over-long value: refused before it is built."""


@dataclass(frozen=True, slots=True)
class ParsedYaml:
    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, path: str) -> int | None:
        """The line of ``path``, or of its nearest enclosing field that was written."""
        parts = path.split(".") if path else []
        while parts:
            line = self.lines.get(".".join(parts))
            if line is not None:
                return line
            parts.pop()
        return None


def beyond_limits(text: str) -> YamlBeyondLimits | None:
    """The first limit ``text`` breaks, or None (a text that is not YAML breaks none)."""
    try:
        yaml.compose(text, Loader=_BoundedLoader)
    except YamlBeyondLimits as exc:
        return exc
    except yaml.YAMLError:
        return None
    return None


def parse_yaml(text: str) -> ParsedYaml:
    try:
        root = yaml.compose(text, Loader=_BoundedLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        # PyYAML's own words for the fault: English in every language.
        problem += f" ({context})" if context else ""
        if mark is None:
            raise YamlProblem("doc.yaml_syntax", "doc.fix.yaml_syntax", None, None,
                              problem=problem) from None
        raise YamlProblem("doc.yaml_syntax_at", "doc.fix.yaml_syntax", mark.line + 1,
                          mark.column + 1, problem=problem, column=mark.column + 1) from None
    if root is None:
        raise YamlProblem("doc.yaml_empty", "doc.fix.yaml_empty", None, None)
    if not isinstance(root, yaml.MappingNode):
        raise YamlProblem("doc.yaml_not_sections", "doc.fix.yaml_sections",
                          root.start_mark.line + 1, root.start_mark.column + 1)
    walk = _Walk(yaml.SafeLoader(""))
    data = walk.plain(root, "")
    return ParsedYaml(data, walk.lines)


def _too_deep(mark: yaml.Mark, path: str) -> YamlBeyondLimits:
    return YamlBeyondLimits("doc.yaml_too_deep", "doc.fix.yaml_too_deep", mark.line + 1,
                            mark.column + 1, path, limit=MAX_DEPTH)


class _BoundedLoader(yaml.SafeLoader):
    """Composes under the limits: each event is looked at before its node is built."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        if self.depth >= MAX_DEPTH:
            raise _too_deep(event.start_mark, "")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_scalar_node(self, anchor: str | None) -> yaml.ScalarNode:
        event = self.peek_event()
        if len(event.value) > MAX_SCALAR:
            mark = event.start_mark
            raise YamlBeyondLimits("doc.yaml_value_too_long", "doc.fix.yaml_value_too_long",
                                   mark.line + 1, mark.column + 1, length=len(event.value),
                                   limit=MAX_SCALAR)
        node = super().compose_scalar_node(anchor)
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER:
            mark = node.start_mark
            raise YamlBeyondLimits("doc.yaml_number_too_long", "doc.fix.yaml_number_too_long",
                                   mark.line + 1, mark.column + 1, length=len(node.value),
                                   limit=MAX_NUMBER)
        return node


class _Walk:
    """Turns composed nodes into plain data, noting each field's line."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.lines: dict[str, int] = {}
        self.open: set[int] = set()  # collections being walked: an alias back to one loops
        self.count = 0

    def plain(self, node: yaml.Node, path: str) -> Any:
        self.count += 1
        mark = node.start_mark
        if self.count > MAX_NODES:
            raise YamlProblem("doc.yaml_too_many_values", "doc.fix.yaml_too_many_values",
                              mark.line + 1, mark.column + 1, path, limit=MAX_NODES)
        if id(node) in self.open:
            raise YamlProblem("doc.yaml_alias_inside_itself", "doc.fix.yaml_alias_inside_itself",
                              mark.line + 1, mark.column + 1, path)
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if len(self.open) >= MAX_DEPTH:  # aliases inside aliases nest past what was written
            raise _too_deep(mark, path)
        self.open.add(id(node))
        try:
            return _plain(node, path, self, self.lines)
        finally:
            self.open.discard(id(node))


def _plain(node: yaml.Node, path: str, walk: _Walk, lines: dict[str, int]) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem("doc.yaml_key_not_plain", "doc.fix.yaml_key_not_plain",
                                  key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                  path)
            key = key_node.value
            where = f"{path}.{key}" if path else key
            if key in out:
                raise YamlProblem("doc.yaml_key_twice", "doc.fix.yaml_key_twice",
                                  key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                  where, key=key, first=lines[where])
            lines[where] = key_node.start_mark.line + 1
            out[key] = walk.plain(value_node, where)
        return out
    items = []
    for i, item in enumerate(node.value):
        lines[f"{path}.{i}"] = item.start_mark.line + 1
        items.append(walk.plain(item, f"{path}.{i}"))
    return items
