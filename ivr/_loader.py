"""Loading flow and prompt documents from YAML text.

``load_flow(text) -> Flow`` and ``load_prompt_texts(text) -> dict[name, dict[lang, text]]``.
Both raise :class:`~branchline.ivr.FlowError` whose ``path`` names the field.

YAML details that matter for a keypad: mapping keys are taken as the text written, never
converted (YAML 1.1 would read a menu key ``010`` as the octal number 8 and ``1`` and ``"1"``
as two keys), and a key written twice in one mapping is an error instead of the last one
silently winning.

``sample_flow()`` and ``sample_prompts()`` read the sample bank flow shipped as package data
of ``branchline.config`` (by package name, so ivr does not import config).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from branchline.ivr._catalog import PromptCatalog
from branchline.ivr._errors import FlowError
from branchline.ivr._model import Flow

_KINDS = {"menu", "collect", "play", "host", "switch", "schedule", "language", "queue",
          "message", "survey", "transfer", "hangup", "subflow"}
_LANGS = ("zh", "yue", "en")


def _parse(text: str) -> Any:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "<document>"
        problem = getattr(exc, "problem", None) or str(exc)
        raise FlowError(where, f"not valid YAML ({problem})",
                        "fix the YAML syntax; quote keys like '*', '#' and '0'") from None
    if root is None:
        raise FlowError("", "the document is empty", "write a mapping of fields")
    return _plain(root, "", yaml.SafeLoader(""))


def _plain(node: yaml.Node, path: str, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise FlowError(path, "a mapping key is not a plain value",
                                "write keys as plain text")
            key = key_node.value
            where = f"{path}.{key}" if path else key
            if key in out:
                raise FlowError(where, f"key {key!r} appears twice in one mapping (line "
                                f"{key_node.start_mark.line + 1})", "keep one of them")
            out[key] = _plain(value_node, where, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, f"{path}.{i}", loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    # Discriminated unions put the tag ("menu") into the location: drop it.
    cleaned = [p for i, p in enumerate(parts)
               if not (i >= 2 and parts[i - 2] == "nodes" and p in _KINDS)]
    return ".".join(cleaned)


def load_flow(text: str) -> Flow:
    """Parse and check the shape of a flow document (then run ``validate_flow`` on it)."""
    data = _parse(text)
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = _location(first["loc"])
        problem = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            problem = "unknown field"
            fix = "remove it or correct its spelling (see docs/ivr.md for the fields)"
        elif first["type"] == "missing":
            problem = "required field is missing"
            fix = "add it (see docs/ivr.md)"
        elif first["type"] == "union_tag_invalid":
            fix = f"set kind to one of {', '.join(sorted(_KINDS))}"
        else:
            fix = "correct the value"
        raise FlowError(path, problem, fix) from None


def load_prompt_texts(text: str) -> dict[str, dict[str, str]]:
    """Parse a prompts document: ``name: {zh: ..., yue: ..., en: ...}``."""
    data = _parse(text)
    if not isinstance(data, dict):
        raise FlowError("", "a prompt document is a mapping of prompt names",
                        "write name: {zh: ..., yue: ..., en: ...}")
    texts: dict[str, dict[str, str]] = {}
    for name, per_lang in data.items():
        if "/" in name:
            raise FlowError(name, "prompt names may not contain '/' (reserved for speech "
                            "units)", "use dots to group names, like main_menu.long")
        if not isinstance(per_lang, dict):
            raise FlowError(name, "expected a mapping of language to text",
                            "write {zh: ..., yue: ..., en: ...}")
        for lang, words in per_lang.items():
            if lang not in _LANGS:
                raise FlowError(f"{name}.{lang}", f"unknown language {lang!r}",
                                "use zh (Mandarin), yue (Cantonese) or en (English)")
            if not isinstance(words, str) or not words.strip():
                raise FlowError(f"{name}.{lang}", "the text is empty or not a string",
                                "write the words the prompt says")
        texts[name] = dict(per_lang)
    return texts


def _read_default(name: str) -> str:
    return resources.files("branchline.config").joinpath("defaults", name).read_text("utf-8")


def sample_flow() -> Flow:
    """The sample bank flow shipped in branchline.config's defaults."""
    return load_flow(_read_default("bank_flow.yaml"))


def sample_prompts() -> PromptCatalog:
    """The sample flow's prompt texts (durations estimated from the text)."""
    return PromptCatalog(load_prompt_texts(_read_default("prompts.yaml")))
