"""The caller's draft of the configuration document: read (viewer+), edit (admin).

Every admin edits their own draft, kept by the store per user with the version it started
from (``base``) and a ``revision`` counting its saves. Every edit sends back the ``base`` and
``revision`` it was made on; if another admin published since, or the draft was saved from
another window, the edit is refused with 409 naming who published what and when. Saving a
draft with errors is allowed (it is work in progress); publishing it is not
(``api_versions``). A text over the reader's limits (``yaml_text.beyond_limits``: nesting,
over-long values) is refused with 422 "beyond_limits" and not saved.

    GET    /api/draft                               the draft (``draft_view.DraftOut``)
    PUT    /api/draft                               {base, revision, text}: the whole YAML
    DELETE /api/draft                               discard; back to the version in force
    GET    /api/draft/sections/{section}            {base, revision, section, value}
    PUT    /api/draft/sections/{section}            {base, revision, value}
    GET    /api/draft/flows/{flow}/nodes/{node}     {base, revision, flow, node, value}
    PUT    /api/draft/flows/{flow}/nodes/{node}     {base, revision, value}
    DELETE /api/draft/flows/{flow}/nodes/{node}     ?base=&revision=
    POST   /api/draft/vip_numbers/import            text/csv, ?base=&revision=&mode=

Section and node edits rewrite only that part of the YAML (``draft_edit``): the rest of the
text, comments included, stays as written; comments inside the edited part are lost.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.document.yaml_text import beyond_limits
from branchline.config.store.versioned import ConfigStore
from branchline.config.web.auth import AdminUser, AnyUser, User
from branchline.config.web.draft.edit import EditRefused, delete_at, set_at, value_at
from branchline.config.web.draft.view import DraftOut, draft_out, store_errors
from branchline.config.web.draft.vip import VipImport, import_vip_numbers
from branchline.config.web.errors import api_error

__all__ = ["SECTIONS", "router"]

router = APIRouter(tags=["draft"])

# The document's sections an admin edits here; ``users`` is the web service's own business.
SECTIONS = ("site", "board", "lines", "flows", "prompts", "host", "acd", "vip_numbers",
            "agent_codes", "retention")
MAX_TEXT = 1_000_000


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base: int | None = Field(description="the version the draft started from (null before "
                                         "the first publish)")
    revision: int = Field(ge=0, description="the draft revision the edit was made on")


class DraftIn(_Edit):
    text: str = Field(max_length=MAX_TEXT)


class SectionIn(_Edit):
    value: Any = Field(description="the section as JSON; null removes the section")


class NodeIn(_Edit):
    value: dict[str, Any] = Field(description="the node as JSON, e.g. {\"kind\": \"menu\", ...}")


class SectionOut(BaseModel):
    base: int | None
    revision: int
    section: str
    value: Any


class NodeOut(BaseModel):
    base: int | None
    revision: int
    flow: str
    node: str
    value: dict[str, Any]


class VipImportOut(VipImport):
    draft: DraftOut


Base = Annotated[int | None, Query(description="the version the draft started from")]
Revision = Annotated[int, Query(ge=0, description="the draft revision the edit was made on")]


def _store(request: Request) -> ConfigStore:
    return request.app.state.store


def _save(store: ConfigStore, user: User, text: str, base: int | None,
          revision: int) -> DraftOut:
    beyond = beyond_limits(text)
    if beyond is not None:  # errors may be saved, but never a text the pages cannot show
        raise api_error(422, "beyond_limits",
                        f"not saved: {beyond.message}; {beyond.fix}. Your draft stays as "
                        "it was", issues=[{"path": beyond.path, "message": beyond.message,
                                           "fix": beyond.fix, "severity": "error",
                                           "line": beyond.line, "key": beyond.key,
                                           "fix_key": beyond.fix_key,
                                           "params": beyond.params}])
    with store_errors():
        draft = store.save_draft(user.name, text, base=base, revision=revision)
        return draft_out(store, user.name, draft)


def _section(section: str) -> str:
    if section not in SECTIONS:
        raise api_error(404, "no_such_section",
                        f"there is no section {section!r} to edit; the sections are "
                        f"{', '.join(SECTIONS)}")
    return section


def _edited(edit: Any, what: str) -> str:
    try:
        return edit()
    except EditRefused as exc:
        raise api_error(422, "edit_refused", f"{what}: {exc}") from None


@router.get("/api/draft", summary="Your draft: text, issues, keys and seconds to a person")
def get_draft(request: Request, user: AnyUser) -> DraftOut:
    with store_errors():
        return draft_out(_store(request), user.name)


@router.put("/api/draft", summary="Save your draft's whole YAML text (errors allowed)")
def put_draft(body: DraftIn, request: Request, user: AdminUser) -> DraftOut:
    return _save(_store(request), user, body.text, body.base, body.revision)


@router.delete("/api/draft", status_code=204, summary="Discard your draft")
def delete_draft(request: Request, user: AdminUser) -> None:
    with store_errors():
        _store(request).discard_draft(user.name)


@router.get("/api/draft/sections/{section}", summary="One section of your draft as JSON")
def get_section(section: str, request: Request, user: AnyUser) -> SectionOut:
    _section(section)
    with store_errors():
        draft = _store(request).draft(user.name)
    try:
        value = value_at(draft.text, (section,))
    except KeyError:
        value = None
    except EditRefused as exc:
        raise api_error(422, "edit_refused", str(exc)) from None
    return SectionOut(base=draft.base, revision=draft.revision, section=section, value=value)


@router.put("/api/draft/sections/{section}", summary="Replace one section of your draft")
def put_section(section: str, body: SectionIn, request: Request, user: AdminUser) -> DraftOut:
    _section(section)
    store = _store(request)
    with store_errors():
        draft = store.draft(user.name)
    if body.value is None:
        def edit() -> str:
            try:
                return delete_at(draft.text, (section,))
            except KeyError:
                return draft.text
    else:
        def edit() -> str:
            return set_at(draft.text, (section,), body.value)
    return _save(store, user, _edited(edit, f"section {section}"), body.base, body.revision)


def _flow_exists(text: str, flow: str) -> None:
    try:
        nodes = value_at(text, ("flows", flow, "nodes"))
    except KeyError:
        nodes = None
    except EditRefused as exc:
        raise api_error(422, "edit_refused", str(exc)) from None
    if not isinstance(nodes, dict):
        raise api_error(404, "no_such_flow",
                        f"your draft has no flow {flow!r} with nodes; add the flow with PUT "
                        "/api/draft/sections/flows")


@router.get("/api/draft/flows/{flow}/nodes/{node}", summary="One node of a flow in your draft")
def get_node(flow: str, node: str, request: Request, user: AnyUser) -> NodeOut:
    with store_errors():
        draft = _store(request).draft(user.name)
    _flow_exists(draft.text, flow)
    try:
        value = value_at(draft.text, ("flows", flow, "nodes", node))
    except KeyError:
        raise api_error(404, "no_such_node",
                        f"flow {flow!r} of your draft has no node {node!r}") from None
    if not isinstance(value, dict):
        raise api_error(422, "edit_refused",
                        f"flows.{flow}.nodes.{node} is not a mapping; fix the text first")
    return NodeOut(base=draft.base, revision=draft.revision, flow=flow, node=node, value=value)


@router.put("/api/draft/flows/{flow}/nodes/{node}", summary="Set (or add) one node of a flow")
def put_node(flow: str, node: str, body: NodeIn, request: Request,
             user: AdminUser) -> DraftOut:
    store = _store(request)
    with store_errors():
        draft = store.draft(user.name)
    _flow_exists(draft.text, flow)
    text = _edited(lambda: set_at(draft.text, ("flows", flow, "nodes", node), body.value),
                   f"flows.{flow}.nodes.{node}")
    return _save(store, user, text, body.base, body.revision)


@router.delete("/api/draft/flows/{flow}/nodes/{node}", summary="Remove one node of a flow")
def delete_node(flow: str, node: str, request: Request, user: AdminUser, base: Base,
                revision: Revision) -> DraftOut:
    store = _store(request)
    with store_errors():
        draft = store.draft(user.name)
    _flow_exists(draft.text, flow)
    try:
        text = _edited(lambda: delete_at(draft.text, ("flows", flow, "nodes", node)),
                       f"flows.{flow}.nodes.{node}")
    except KeyError:
        raise api_error(404, "no_such_node",
                        f"flow {flow!r} of your draft has no node {node!r}") from None
    return _save(store, user, text, base, revision)


@router.post("/api/draft/vip_numbers/import",
             summary="Import VIP numbers from CSV (one number per row, optional header)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"}}}}})
async def import_vips(request: Request, user: AdminUser, base: Base, revision: Revision,
                      mode: Literal["merge", "replace"] = "merge") -> VipImportOut:
    data = await request.body()
    return await run_in_threadpool(_import_vips, request, user, data, base, revision, mode)


def _import_vips(request: Request, user: User, data: bytes, base: int | None, revision: int,
                 mode: str) -> VipImportOut:
    store = _store(request)
    with store_errors():
        draft = store.draft(user.name)
    try:
        existing = value_at(draft.text, ("vip_numbers",)) if mode == "merge" else []
    except KeyError:
        existing = []
    except EditRefused as exc:
        raise api_error(422, "edit_refused", str(exc)) from None
    try:
        country = value_at(draft.text, ("site", "country"))
    except KeyError:
        country = "cn"
    try:
        result = import_vip_numbers(data, existing if isinstance(existing, list) else [],
                                    country if country in ("cn", "us") else "cn")
    except ValueError as exc:
        raise api_error(422, "bad_csv", str(exc)) from None
    text = _edited(lambda: set_at(draft.text, ("vip_numbers",), result.numbers),
                   "vip_numbers")
    saved = _save(store, user, text, base, revision)
    return VipImportOut(**result.model_dump(), draft=saved)
