"""The checker and the SIP transfer rule: with SIP on, a flow's transfer node whose target is
not in ``sip.transfer_targets`` is flagged (SIP calls would never be transferred there), with
the path to the node, what is allowed and the fix; a trunk's ``transfer`` is refer or bridge."""

import yaml

from branchline.config.document import check_document, default_document_text


def _document(sip=True, targets=(), transfer=None):
    document = yaml.safe_load(default_document_text())
    document["flows"]["xfer"] = {
        "flow": "xfer", "start": "go", "operator": "go", "languages": ["zh"],
        "default_language": "zh", "nodes": {"go": {"kind": "transfer", "target": "95566"}}}
    if sip:
        document["sip"]["transfer_targets"] = list(targets)
        if transfer is not None:
            document["sip"]["trunks"]["local"]["transfer"] = transfer
    else:
        del document["sip"]
        document["lines"] = {k: v for k, v in document["lines"].items()
                             if not k.startswith("sip")}
    return yaml.safe_dump(document, allow_unicode=True)


def _flagged(report):
    return [(i.path, str(i)) for i in report.warnings if i.key == "doc.transfer_not_allowed"]


def test_a_transfer_target_missing_from_transfer_targets_is_flagged_with_the_fix():
    document, report = check_document(_document(targets=["95588"]))
    assert document is not None  # a warning: the flow still works on analog lines
    (path, text), = _flagged(report)
    assert path == "flows.xfer.nodes.go.target"
    assert "transfer target '95566' is not in sip.transfer_targets (95588)" in text
    assert "add '95566' to sip.transfer_targets, or transfer to one of them" in text


def test_an_allowed_target_or_no_sip_section_is_not_flagged():
    assert _flagged(check_document(_document(targets=["95566"]))[1]) == []
    assert _flagged(check_document(_document(sip=False))[1]) == []


def test_a_trunk_transfers_by_bridge_unless_it_says_refer():
    document, _ = check_document(_document(targets=["95566"]))
    assert document.sip.trunks["local"].transfer == "bridge"
    document, _ = check_document(_document(targets=["95566"], transfer="refer"))
    assert document.sip.trunks["local"].transfer == "refer"
    document, report = check_document(_document(targets=["95566"], transfer="forward"))
    assert document is None
    assert any(e.path == "sip.trunks.local.transfer" for e in report.errors), report.errors
