"""The appliance's configuration document: one YAML text, checked as a whole.

    document = load_document(text)                 # raises DocumentInvalid(report)
    document, report = check_document(text)        # never raises for a bad text
    store = open_config_store(data_dir)            # how every command opens the store

Sections (docs/configuration.md explains each with the bundled default as the example):
``site``, ``board``, ``lines`` (per trunk port), ``flows`` (IVR flows, inline),
``prompts``, ``host``, ``acd`` (branchline.acd.AcdConfig), ``vip_numbers``,
``agent_codes``, ``retention``, ``sip`` (config/document/sip.py), ``users``.

Checking runs in three steps and collects every issue instead of stopping at the first:
YAML (a syntax error is one issue with its line and column), then each section on its own
model (a section with errors is left out of the next step), then the checks across sections
(``document_checks``), including ``branchline.ivr.validate_flow`` on every flow against the
document's own queues, host endpoints and prompts. Issues carry the line they are written on
and come out in document order.

Exceptions: ``DocumentInvalid`` (a ``ValueError``) from ``load_document`` only; it carries
the whole report.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from functools import cached_property
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from branchline.acd import AcdConfig, AgentModel
from branchline.config.data_dir import DataDir
from branchline.config.document.call_control import CallControl
from branchline.config.document.checks import cross_check
from branchline.config.document.codes import AgentKeyed, parse_agent_code
from branchline.config.document.issues import (
    DocumentInvalid,
    DocumentReport,
    Issue,
    issue,
    issues_from_pydantic,
)
from branchline.config.document.model import (
    AgentCodes,
    Board,
    Host,
    Line,
    PortSpec,
    PromptTexts,
    Retention,
    Site,
)
from branchline.config.document.numbers import normalise_number
from branchline.config.document.sip import Sip, all_ports
from branchline.config.document.yaml_text import ParsedYaml, YamlProblem, parse_yaml
from branchline.config.store.old_layout import adopt_old_nested_store
from branchline.config.store.versioned import ConfigStore
from branchline.ivr import Flow, PromptCatalog

__all__ = [
    "Document",
    "DocumentInvalid",
    "DocumentReport",
    "Issue",
    "check_document",
    "default_document_text",
    "load_document",
    "open_config_store",
]

DEFAULT_NAME = "branchline.yaml"


class Document(BaseModel):
    """A checked configuration document. Build it with ``load_document``/``check_document``:
    constructed directly, the checks across sections have not run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: Site
    board: Board = Field(default_factory=Board)
    lines: dict[str, Line]
    flows: dict[str, Flow]
    prompts: dict[str, PromptTexts]
    host: Host = Field(default_factory=Host)
    acd: AcdConfig
    vip_numbers: list[str] = Field(default_factory=list)
    agent_codes: AgentCodes = Field(default_factory=AgentCodes)
    call_control: CallControl = Field(default_factory=CallControl)
    retention: Retention = Field(default_factory=Retention)
    sip: Sip | None = None
    users: dict[str, Any] = Field(default_factory=dict)

    # -- what the runtime asks ------------------------------------------------------------

    def ports(self) -> tuple[PortSpec, ...]:
        """The board's ports, then the SIP board's when there is a ``sip`` section."""
        return all_ports(self.board, self.sip)

    def line_for(self, port: str) -> Line | None:
        """The line configured on trunk ``port`` ("fxo1"), or None (calls there go unanswered)."""
        return self.lines.get(port)

    def flow(self, name: str) -> Flow:
        try:
            return self.flows[name]
        except KeyError:
            raise KeyError(f"configuration: no flow {name!r}; the flows are "
                           f"{', '.join(self.flows)}") from None

    def flow_for(self, port: str) -> Flow | None:
        """The flow that answers calls on trunk ``port``, or None if no line is configured."""
        line = self.lines.get(port)
        return None if line is None else self.flows[line.flow]

    def agent_at(self, station: str) -> AgentModel | None:
        """The agent whose phone is on ``station`` ("fxs1"), or None."""
        return next((a for a in self.acd.agents if a.station == station), None)

    def agent(self, agent_id: str) -> AgentModel | None:
        return next((a for a in self.acd.agents if a.id == agent_id), None)

    @cached_property
    def _vips(self) -> frozenset[str]:
        return frozenset(normalise_number(n, self.site.country) for n in self.vip_numbers)

    def is_vip(self, number: str | None) -> bool:
        """Whether a caller's number (as caller ID gives it: national or international) is a
        VIP's; an absent or unreadable number is not."""
        if not number:
            return False
        try:
            return normalise_number(number, self.site.country) in self._vips
        except ValueError:
            return False

    def prompt_catalog(self, durations: dict[str, dict[str, float]] | None = None
                       ) -> PromptCatalog:
        """The prompts' texts; ``durations`` of the recordings found, when the runtime has
        them (a recording overrides the synthesised text)."""
        return PromptCatalog({name: p.texts() for name, p in self.prompts.items()},
                             durations or {})

    def agent_keyed(self, keys: str) -> AgentKeyed | None:
        """What keys an agent pressed at a station mean (see ``document_codes``)."""
        return parse_agent_code(self.agent_codes, keys)


_REQUIRED = ("site", "lines", "flows", "prompts", "acd")
_ADAPTERS = {name: TypeAdapter(info.annotation) for name, info in Document.model_fields.items()}
_FLOW = TypeAdapter(Flow)


def check_document(text: str) -> tuple[Document | None, DocumentReport]:
    """Check a document text; the Document only when there is no error.

    The last text's answer is kept and given again for the same text: start-up checks one
    text several times (store, prompts, appliance), about a second each for a 300-agent
    centre's document, and the answer is immutable."""
    global _last_checked
    last = _last_checked
    if last is not None and last[0] == text:
        return last[1]
    checked = _check_document(text)
    _last_checked = (text, checked)  # one reference swap: safe from any thread
    return checked


_last_checked: tuple[str, tuple[Document | None, DocumentReport]] | None = None


def _check_document(text: str) -> tuple[Document | None, DocumentReport]:
    try:
        parsed = parse_yaml(text)
    except YamlProblem as exc:
        said = dataclasses.replace(issue(exc.path, exc.key, exc.fix_key, **exc.params),
                                   line=exc.line)
        return None, DocumentReport((said,), ())
    errors: list[Issue] = []
    sections: dict[str, Any] = {}
    data = parsed.data
    for name in data:
        if name not in Document.model_fields:
            close = difflib.get_close_matches(name, list(Document.model_fields), n=1)
            fix = ({"fix_key": "doc.fix.did_you_mean", "close": close[0]} if close else
                   {"fix_key": "doc.fix.sections_are",
                    "sections": ", ".join(Document.model_fields)})
            errors.append(issue(name, "doc.unknown_section", name=name, **fix))
    for name in Document.model_fields:
        if name not in data:
            if name in _REQUIRED:
                errors.append(issue(name, "doc.missing_section", "doc.fix.add_section",
                                    name=name))
                sections[name] = None
            continue
        section_errors, sections[name] = _section(name, data[name])
        errors += section_errors
    found = cross_check(sections, data)
    errors += found.errors
    document = None
    if not errors:
        document = Document.model_validate(
            {name: value for name, value in sections.items() if value is not None})
    report = DocumentReport(_placed(errors, parsed), _placed(found.warnings, parsed),
                            found.routes)
    return document, report


def _section(name: str, raw: Any) -> tuple[list[Issue], Any]:
    if name != "flows" or not isinstance(raw, dict):
        try:
            return [], _ADAPTERS[name].validate_python(raw)
        except ValidationError as exc:
            return issues_from_pydantic(exc, name, Document.model_fields[name].annotation), None
    errors, flows = [], {}
    for flow_name, flow_raw in raw.items():
        try:
            flows[flow_name] = _FLOW.validate_python(flow_raw)
        except ValidationError as exc:
            errors += issues_from_pydantic(exc, f"flows.{flow_name}", Flow)
    return errors, (None if errors else flows)


def _placed(issues: list[Issue], parsed: ParsedYaml) -> tuple[Issue, ...]:
    """Each issue with its line, in document order (issues without a line last)."""
    placed = [dataclasses.replace(i, line=i.line or parsed.line_of(i.path)) for i in issues]
    order = {id(issue): n for n, issue in enumerate(placed)}
    return tuple(sorted(placed, key=lambda i: (i.line is None, i.line or 0, order[id(i)])))


def load_document(text: str) -> Document:
    """The checked document; DocumentInvalid (with every error) if it has any."""
    document, report = check_document(text)
    if document is None:
        raise DocumentInvalid(report)
    return document


def default_document_text() -> str:
    """The bundled default document (config/defaults/branchline.yaml)."""
    return resources.files("branchline.config").joinpath("defaults", DEFAULT_NAME) \
        .read_text("utf-8")


def open_config_store(data_dir: DataDir | str | os.PathLike[str]) -> ConfigStore:
    """The store of the data directory (``DataDir.config``) checking with ``check_document``,
    initialised with the bundled default on first run, after moving a store an older release
    left at ``config/config`` into place (config/store/old_layout.py). Every command and the
    web page open it this way, so they all read and write the same versions."""
    data = DataDir.of(data_dir)
    adopt_old_nested_store(data)
    store = ConfigStore(data, check_document)
    store.initialise(default_document_text())
    return store
