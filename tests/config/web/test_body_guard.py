"""Bodies are judged before they are read: JSON endpoints keep the 1 MiB limit whatever their
path, and an upload's larger limit is only for an admin (anyone else is refused unread)."""

from __future__ import annotations

import pytest

from branchline.config.web import DEFAULT_BODY_LIMIT

MIB = 1024 * 1024


def test_a_json_endpoint_under_prompts_has_the_json_limit(web):
    admin = web.client()
    body = b'{"text": "' + b"a" * (2 * MIB) + b'"}'
    reply = admin.post("/api/prompts/main.welcome/zh/synthesise", content=body,
                       headers={"content-type": "application/json"})
    assert reply.status_code == 413, reply.text
    assert reply.json()["error"]["message"].endswith(
        f"larger than the {DEFAULT_BODY_LIMIT // 1024} KiB this endpoint accepts; send a "
        "smaller file or document")


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/system/restore"),
                                              ("PUT", "/api/prompts/main.welcome/zh")])
@pytest.mark.parametrize("caller", ["anonymous", "viewer"])
def test_an_upload_without_an_admin_is_refused_before_its_body_is_read(web, method, path,
                                                                       caller):
    client = web.anonymous() if caller == "anonymous" else web.client("viewer")
    sent = []

    def chunks():
        for _ in range(64):  # 4 MiB, streamed without a Content-Length
            sent.append(1)
            yield b"\0" * 65536

    reply = client.request(method, path, content=chunks(),
                           headers={"content-type": "application/octet-stream"})
    expected = {"anonymous": (401, "not_logged_in"), "viewer": (403, "forbidden")}[caller]
    assert (reply.status_code, reply.json()["error"]["code"]) == expected
    assert len(sent) <= 1
