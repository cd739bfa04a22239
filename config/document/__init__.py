"""The configuration document: its model, checks, problem codes and YAML text.

- ``checks``: Checks across sections, run after each section passed its own model.
- ``codes``: What an agent keyed at a station phone: ``parse_agent_code(codes, keys) ->
  AgentKeyed``.
- ``issue_texts``: The English words of every problem the document's own checks report, by
  key (the page says them in Chinese too).
- ``issues``: What is wrong with a configuration document, said so a person can act on it.
- ``loading``: The appliance's configuration document: one YAML text, checked as a whole.
- ``model``: The sections of the configuration document as pydantic models, each checked on its own.
- ``numbers``: Telephone numbers as callers and admins write them, made comparable.
- ``yaml_text``: Reading the configuration document's YAML: plain data, and where each field was
  written.
"""

from branchline.config.document.loading import (
    Document,
    DocumentInvalid,
    DocumentReport,
    Issue,
    check_document,
    default_document_text,
    load_document,
    open_config_store,
)

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
