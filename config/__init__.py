"""Branchline config: the configuration document, its checks, and the versioned store.

    from branchline.config import check_document, load_document, default_document_text
    from branchline.config.store.versioned import ConfigStore

docs/configuration.md describes the document; docs/config-store.md the store.
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
