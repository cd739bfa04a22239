"""The centre's /login and /setup: the branch page's one sign-in router (config/web/signin.py)
drawn in the centre's look; before setup, after it, and never sending the browser elsewhere."""

import re

from fastapi.testclient import TestClient

from branchline.central.web import create_central_app
from branchline.config.data_dir import DataDir
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER
from branchline.config.web.pages import render as branch_pages


def _endpoints(routes) -> dict[str, str]:
    """Which module answers /login and /setup, through included routers too."""
    found = {}
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's record of an included router
            found |= _endpoints(route.original_router.routes)
        elif getattr(route, "path", None) in ("/login", "/setup"):
            found[route.path] = route.endpoint.__module__
    return found


def test_both_apps_sign_in_through_one_router(central, tmp_path):
    app = create_central_app(central, data=DataDir(tmp_path / "centre"), announce=lambda _: None)
    shared = {"/login": "branchline.config.web.signin", "/setup": "branchline.config.web.signin"}
    assert _endpoints(app.routes) == shared
    assert _endpoints(branch_pages.router.routes) == shared


def test_the_centres_login_and_setup_pages(central, tmp_path):
    said = []
    app = create_central_app(central, data=DataDir(tmp_path / "centre"), announce=said.append)
    client = TestClient(app)
    first = client.get("/login?lang=en")
    assert "first-run setup link" in first.text and "Branchline centre" in first.text
    token = re.search(r"token=([\w-]+)", said[0]).group(1)
    assert f'value="{token}"' in client.get(f"/setup?token={token}").text
    client.headers[CSRF_HEADER] = client.cookies[CSRF_COOKIE]
    made = client.post("/api/setup", json={"token": token, "name": "admin", "language": "en",
                                           "password": "branch-line-test-pw"})
    assert made.status_code == 200
    anonymous = TestClient(app)
    assert "Setup is done already" in anonymous.get("/setup?token=x&lang=en").text
    assert 'data-next="/templates"' in anonymous.get("/login?next=/templates&lang=en").text
    assert 'data-next="/"' in anonymous.get("/login?next=//evil.example/").text
    signed_in = client.get("/login?next=/templates", follow_redirects=False)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/templates")
