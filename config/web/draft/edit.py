"""Edits of a draft's YAML text at one place, leaving the rest of the text as written.

    text = set_at(text, ("acd",), {"queues": [...], ...})            # a whole section
    text = set_at(text, ("flows", "bank", "nodes", "main"), {...})    # one node
    text = delete_at(text, ("flows", "bank", "nodes", "old"))
    value = value_at(text, ("flows", "bank", "nodes", "main"))        # KeyError if absent

The text is composed (not loaded) to find where the field is written: the field's lines are
replaced by the new value dumped as block YAML at the field's indentation, and everything
else — other sections, their comments, key order, quoting — stays byte for byte. Comments
*inside* the replaced field are lost (the new value is data, not text); comment lines just
after it are kept. A field written in flow style (``{a: 1}``) has its nearest block-style
parent rewritten instead. A missing field is appended to its parent mapping; missing parents
are created.

Keys are walked as the text writes them (``parse_yaml``'s rule: ``010`` is the key "010").
Errors: ``EditRefused`` (a ``ValueError``) when the text is not YAML that can be edited, or
the path goes through something that is not a mapping; the message says where and what to do.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any

import yaml

from branchline.config.document.yaml_text import YamlProblem, parse_yaml

__all__ = ["EditRefused", "delete_at", "dump_value", "set_at", "value_at"]

Path = Sequence[str]


class EditRefused(ValueError):
    """The edit cannot be made on this text; the message says why and what would help."""


def value_at(text: str, path: Path) -> Any:
    """The plain value at ``path`` (KeyError naming the missing part)."""
    value = _data(text)
    for depth, key in enumerate(path):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(".".join(path[: depth + 1]))
        value = value[key]
    return value


def set_at(text: str, path: Path, value: Any) -> str:
    """``text`` with the field at ``path`` set to ``value`` (created if missing)."""
    if not path:
        raise EditRefused("an edit needs a path to a field")
    _data(text)  # refuse text that is not a YAML mapping, with its line
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    return _set(text, root, list(path), value, 0)


def delete_at(text: str, path: Path) -> str:
    """``text`` without the field at ``path`` (KeyError naming it if absent)."""
    value_at(text, path)
    parent_path, key = list(path[:-1]), path[-1]
    if not parent_path:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        return _remove_entry(text, root, key)
    parent = dict(value_at(text, parent_path))
    del parent[key]
    mapping = _node_at(yaml.compose(text, Loader=yaml.SafeLoader), parent_path)
    if mapping is not None and not mapping.flow_style and parent:
        return _remove_entry(text, mapping, key)
    return set_at(text, parent_path, parent)


WIDTH = 100
# Strings that YAML 1.1 or 1.2 could read as something else (numbers, dates, booleans, keys
# like 010 or *) are double-quoted, as the bundled document writes them.
_AMBIGUOUS = re.compile(r"[-+0-9.:_eE*#]+|y|n|yes|no|on|off|true|false|null|~", re.IGNORECASE)


# Characters written as they are inside double quotes: YAML 1.1's printable ones less its
# line breaks (NEL, U+2028, U+2029) and the byte order mark (YAML 1.1 §5.1, §5.4).
_WRITTEN = re.compile("[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                      "\U00010000-\U0010ffff]")
MAX_KEY = 1000  # YAML caps an implicit key at 1024 characters


def dump_value(value: Any, indent: int = 0) -> str:
    """``value`` as block YAML at ``indent``; collections of scalars that fit a line are
    written inline (``[zh, en]``), as the bundled document does."""
    return "".join(line + "\n" for line in _block(value, indent, top=True))


def _scalar(value: Any, flow: bool = False) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return yaml.safe_dump(value).removesuffix("\n...\n").strip()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    plain = yaml.safe_dump(text, allow_unicode=True, width=10**6).removesuffix("\n...\n")
    if "\n" in text or _AMBIGUOUS.fullmatch(text) or plain.strip() != text or (
            flow and any(c in _FLOW_INDICATORS for c in text)):
        return _double_quoted(text)
    return text


# Inside [...] and {...} these end or split a plain scalar.
_FLOW_INDICATORS = frozenset(",[]{}#:?")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar: readable characters as they are (Chinese included),
    the rest (controls, line separators, BOM) as YAML escapes."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _WRITTEN.fullmatch(char):
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02X}" if code <= 0xFF else
                       f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
    return '"' + "".join(out) + '"'



def _key(key: Any, flow: bool = False) -> str:
    if len(str(key)) > MAX_KEY:
        raise EditRefused(f"a name of {len(str(key))} characters is too long for a YAML key; "
                          f"use at most {MAX_KEY}")
    return _scalar(key, flow)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _inline(value: Any) -> str | None:
    """``value`` on one line, or None if it is not a collection of scalars (or empty)."""
    if _is_scalar(value):
        return _scalar(value)
    items = value.items() if isinstance(value, dict) else None
    if items is not None:
        if not all(_is_scalar(v) for v in value.values()):
            return None
        return "{" + ", ".join(f"{_key(k, flow=True)}: {_scalar(v, flow=True)}"
                               for k, v in items) + "}"
    if not all(_is_scalar(v) for v in value):
        return None
    return "[" + ", ".join(_scalar(v, flow=True) for v in value) + "]"


def _fits(line: str) -> bool:
    return len(line) <= WIDTH


def _block(value: Any, indent: int, top: bool = False) -> list[str]:
    pad = " " * indent
    inline = _inline(value)
    if inline is not None and (not value or _is_scalar(value) or (not top and _fits(pad + inline))):
        return [pad + inline]
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{_key(key)}:"
            short = _inline(item)
            if short is not None and (not item or _is_scalar(item) or _fits(f"{head} {short}")):
                lines.append(f"{head} {short}")
            else:
                lines.append(head)
                lines += _block(item, indent + 2)
        return lines
    for item in value:
        inner = _block(item, indent + 2)
        inner[0] = pad + "- " + inner[0][indent + 2:]
        lines += inner
    return lines


def _data(text: str) -> dict:
    try:
        return parse_yaml(text).data
    except YamlProblem as exc:
        raise EditRefused(f"the draft is not YAML that can be edited here ({exc}); fix the "
                          "text itself first (PUT /api/draft)") from None


def _entry(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _node_at(root: yaml.Node, path: Path) -> yaml.MappingNode | None:
    node = root
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            return None
        found = _entry(node, key)
        if found is None:
            return None
        node = found[1]
    return node if isinstance(node, yaml.MappingNode) else None


def _set(text: str, mapping: yaml.Node, path: list[str], value: Any, depth: int) -> str:
    where = ".".join(path[:depth]) or "the document"
    if not isinstance(mapping, yaml.MappingNode):
        raise EditRefused(f"{where} is not a mapping of named fields, so "
                          f"{'.'.join(path)} cannot be set inside it; edit {where} as a whole")
    key = path[depth]
    found = _entry(mapping, key)
    last = depth == len(path) - 1
    if found is None:
        nested: Any = value
        for name in reversed(path[depth + 1:]):
            nested = {name: nested}
        return _append(text, mapping, key, nested, where)
    key_node, value_node = found
    if last or (isinstance(value_node, yaml.MappingNode) and value_node.flow_style):
        if not last:
            whole = value_at(text, path[: depth + 1])
            target = whole
            for name in path[depth + 1:-1]:
                target = target.setdefault(name, {})
            target[path[-1]] = value
            value = whole
        return _replace(text, key_node, value_node, key, value)
    if isinstance(value_node, yaml.ScalarNode) and value_node.value == "" \
            and value_node.tag.endswith(":null"):
        nested = value
        for name in reversed(path[depth + 1:]):
            nested = {name: nested}
        return _replace(text, key_node, value_node, key, nested)
    return _set(text, value_node, path, value, depth + 1)


def _written_end(text: str, start: int, end: int) -> int:
    """``end`` moved back over trailing blank and comment lines (they belong to what follows)."""
    lines = text[start:end].splitlines(keepends=True)
    while len(lines) > 1 and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        end -= len(lines.pop())
    return end


def _rendered(key: str, value: Any, column: int, ends_line: bool) -> str:
    head = f"{_key(key)}:"
    short = _inline(value)
    # A section (column 0) is always written as a block; deeper, what fits a line is inline.
    if short is not None and (_is_scalar(value) or not value or (
            (column > 0 or isinstance(value, list)) and _fits(" " * column + f"{head} {short}"))):
        text = f"{head} {short}"
    else:
        text = head + "\n" + dump_value(value, column + 2).rstrip("\n")
    return text + "\n" if ends_line else text


def _replace(text: str, key_node: yaml.Node, value_node: yaml.Node, key: str,
             value: Any) -> str:
    start = key_node.start_mark.index
    end = _written_end(text, start, value_node.end_mark.index)
    ends_line = text[start:end].endswith("\n")
    return text[:start] + _rendered(key, value, key_node.start_mark.column, ends_line) \
        + text[end:]


def _append(text: str, mapping: yaml.MappingNode, key: str, value: Any, where: str) -> str:
    if mapping.flow_style:
        raise EditRefused(f"{where} is written in flow style ({{...}}); rewrite it as a "
                          "whole instead of adding one field")
    if not mapping.value:
        raise EditRefused(f"{where} is empty; set it as a whole")
    column = mapping.value[0][0].start_mark.column
    last_key, last_value = mapping.value[-1]
    end = _written_end(text, last_key.start_mark.index, last_value.end_mark.index)
    before = text[:end]
    if not before.endswith("\n"):
        before += "\n"
    return before + " " * column + _rendered(key, value, column, True) + text[end:]


def _remove_entry(text: str, mapping: yaml.Node, key: str) -> str:
    found = _entry(mapping, key)
    if found is None:
        raise KeyError(key)
    key_node, value_node = found
    # From the start of the key's line, so its indentation goes too.
    start = text.rfind("\n", 0, key_node.start_mark.index) + 1
    end = _written_end(text, start, value_node.end_mark.index)
    if not text[start:end].endswith("\n"):
        newline = text.find("\n", end)
        end = len(text) if newline < 0 else newline + 1
    return text[:start] + text[end:]
