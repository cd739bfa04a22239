"""Try it: the sans-I/O trial on the sample flow, and the API over the real app (WebHarness),
host requests to the bank host simulator over loopback."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from runtime_harness import BALANCE, CARD, PIN
from web_harness import WebHarness

from branchline.config.document.loading import check_document, default_document_text
from branchline.config.web.api.tryit import IDLE_S, PER_USER, Trials, _ask_host
from branchline.config.web.tryit import QueueClasses, TryIt, TryItError
from branchline.ivr import CallStarted, say_money, say_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)      # a Tuesday morning
CLOSED = dt.datetime(2026, 11, 24, 22, 0, tzinfo=SHANGHAI)


def trial(at=OPEN, audio=()) -> TryIt:
    document, _ = check_document(default_document_text())
    call = CallStarted("t1", "13800138000", "075588880001", "fxo1", False, at)
    queues = {q.name: QueueClasses(tuple((c.name, c.priority) for c in q.classes),
                                   q.default_class) for q in document.acd.queues}
    t = TryIt("t1", document.flow("bank"), document.prompt_catalog(), call, audio=audio,
              queues=queues)
    t.start()
    return t


def test_keys_move_through_the_menus_and_the_path_is_kept():
    t = trial()
    assert t.state()["node"] == "language_menu"
    t.keys("13")
    state = t.state()
    assert state["node"] == "branch_info"
    assert state["path"] == ["vip_check", "language_menu", "set_zh", "hours", "main_menu",
                             "branch_info"]
    assert state["playing"][0]["text"] == "本网点地址为人民路一百号。"
    # a spoken time reads as text and plays as its speech units, in order
    (said,) = [p for p in state["playing"] if p["prompt"] is None and p["text"] == "九点整"]
    assert [u["unit"] for u in said["units"]] == list(say_time("09:00", "zh"))


def test_advance_next_ends_the_prompt_then_the_timer_counts_down_in_virtual_time():
    t = trial()
    t.keys("1")                     # into the main menu, main.long playing
    playing = {x["name"]: x["due_in_s"] for x in t.state()["timers"]}
    t.advance(None)                 # the prompt ends
    state = t.state()
    assert state["time_s"] == pytest.approx(playing["playback"], abs=0.01)
    assert {x["name"]: x["due_in_s"] for x in state["timers"]}["digit"] == 5.0
    t.advance(2.0)
    assert {x["name"]: x["due_in_s"] for x in t.state()["timers"]}["digit"] == 3.0
    t.advance(None)                 # silence: no-input 1, forgiven
    assert t.state()["budgets"]["errors"]["used"] == 1
    assert "no_input main_menu" in " ".join(t.state()["events"])


def test_operator_key_ends_the_trial_with_the_queue_it_would_join():
    t = trial()
    t.keys("10")
    state = t.state()
    assert state["outcome"] == {"kind": "queue", "queue": "general", "class": "normal",
                                "priority": 0, "skills": ["zh"]}
    assert state["timers"] == [] and state["playing"] == []
    with pytest.raises(TryItError, match="the call has ended; start a new one"):
        t.keys("1")


def test_out_of_hours_goes_to_the_closed_menu_and_can_hang_up():
    t = trial(at=CLOSED)
    t.keys("12")                    # Mandarin, then 2: end the call
    t.advance(None)
    assert t.state()["outcome"] == {"kind": "hangup", "reason": "caller_done"}


def test_audio_urls_only_for_prompts_that_have_audio():
    t = trial(audio={("language.choose", "zh")})
    assert t.state()["playing"][0]["audio_url"] == "/api/prompts/language.choose/zh.wav"
    t.keys("1")
    assert t.state()["playing"][0]["audio_url"] is None


def test_a_spoken_balance_carries_its_units_in_the_order_the_caller_hears_them():
    t = trial()
    t.keys("11" + CARD + "#1" + PIN)
    t.host_reply(t.pending_host.request_id, "ok", {"balance": BALANCE, "currency": "CNY"})
    (amount,) = [p for p in t.state()["playing"] if p["text"] == "一千两百三十四元五角六分"]
    units = list(say_money(BALANCE, "zh"))
    assert units[:3] == ["num/1", "num/1000", "num/2_liang"]
    assert [u["unit"] for u in amount["units"]] == units
    assert "".join(u["text"] for u in amount["units"]) == amount["text"]
    assert amount["units"][2]["audio_url"] == "/api/prompts/units/zh/num/2_liang.wav"


def test_host_request_waits_for_its_reply_and_masks_sensitive_fields():
    t = trial()
    t.keys("11" + CARD + "#1" + PIN)
    pending = t.pending_host
    assert pending is not None and pending.endpoint == "balance"
    with pytest.raises(TryItError, match="waiting for the bank host"):
        t.advance(1.0)
    with pytest.raises(TryItError, match="no host request 99 is waiting"):
        t.host_reply(99, "ok", {})
    t.host_reply(pending.request_id, "ok", {"balance": BALANCE, "currency": "CNY"})
    assert t.state()["node"] == "balance_said"
    assert t.host_replies[-1]["status"] == "ok"
    assert PIN not in " ".join(t.state()["events"])


@pytest.mark.parametrize(("keys", "message"), [
    ("", "are empty"), ("1x", "contain x"), ("9 ", "contain  "),
])
def test_bad_keys_are_refused_and_change_nothing(keys, message):
    t = trial()
    before = t.state()
    with pytest.raises(TryItError, match=message):
        t.keys(keys)
    assert t.state() == before


def test_advance_refuses_out_of_range_seconds():
    t = trial()
    for bad in (0, -1, 3601):
        with pytest.raises(TryItError, match="out of range"):
            t.advance(bad)


def test_trials_are_bounded_per_user_and_forgotten_when_idle():
    now = [0.0]
    trials = Trials(clock=lambda: now[0])
    made = [trials.add("alice", lambda i: trial_with_id(i), {}) for _ in range(PER_USER + 1)]
    ids = [e.trial.id for e in made]
    with pytest.raises(Exception, match="no try-it call"):
        trials.get("alice", ids[0])             # the oldest made room for the newest
    assert trials.get("alice", ids[-1]).trial.id == ids[-1]
    with pytest.raises(Exception, match="no try-it call"):
        trials.get("bob", ids[-1])              # never someone else's
    now[0] += IDLE_S + 1
    with pytest.raises(Exception, match="no try-it call"):
        trials.get("alice", ids[-1])


def trial_with_id(trial_id: str) -> TryIt:
    t = trial()
    t.id = trial_id
    return t


def test_ask_host_against_the_simulator(bank_url):
    status, data = _ask_host(bank_url, "/ivr/balance", {"card_number": CARD, "pin": PIN})
    assert (status, data["balance"]) == ("ok", BALANCE)
    assert _ask_host(bank_url, "/nowhere", {}) == ("failed", {"code": "http_404"})
    assert _ask_host(None, "/ivr/balance", {}) == ("failed", {"code": "no_host"})
    assert _ask_host("http://127.0.0.1:9", "/x", {}) == ("failed", {"code": "unreachable"})


# --- the API -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory, prompts_dir, bank_url):
    """One appliance and app for the API tests; each test is its own admin with its own
    draft."""
    harness = WebHarness(tmp_path_factory.mktemp("tryit"), prompts_dir=prompts_dir,
                         bank_url=bank_url)
    harness.client()
    yield harness
    harness.close()


def test_api_runs_the_draft_not_the_running_version(site):
    admin = site.client("admin", name="drafter")
    draft = admin.get("/api/draft").json()
    node = admin.get("/api/draft/flows/bank/nodes/main_menu").json()["value"]
    node["options"]["4"] = "branch_info"
    admin.put("/api/draft/flows/bank/nodes/main_menu",
              json={"base": draft["base"], "revision": draft["revision"], "value": node})
    started = admin.post("/api/tryit", json={"flow": "bank", "at": "2026-11-24T10:00:00"})
    assert started.status_code == 200, started.text
    trial_id = started.json()["id"]
    url = started.json()["playing"][0]["audio_url"]
    assert url == "/api/prompts/language.choose/zh.wav"    # built by the prompt store
    sound = admin.get(url)
    assert sound.status_code == 200 and sound.content[:4] == b"RIFF"
    state = admin.post(f"/api/tryit/{trial_id}/keys", json={"keys": "14"}).json()
    assert state["node"] == "branch_info"
    state = admin.post(f"/api/tryit/{trial_id}/advance", json={"seconds": "next"}).json()
    assert state["node"] == "info_done"
    assert admin.delete(f"/api/tryit/{trial_id}").status_code == 204
    gone = admin.post(f"/api/tryit/{trial_id}/keys", json={"keys": "1"})
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "no_such_trial"


def test_api_asks_the_bank_host_and_shows_its_answer(site):
    admin = site.client("admin", name="hoster")
    trial_id = admin.post("/api/tryit", json={"at": "2026-11-24T10:00:00"}).json()["id"]
    state = admin.post(f"/api/tryit/{trial_id}/keys",
                       json={"keys": "11" + CARD + "#"}).json()
    state = admin.post(f"/api/tryit/{trial_id}/keys", json={"keys": "1" + PIN}).json()
    assert state["host_replies"] == [{"endpoint": "balance", "status": "ok",
                                      "data": {"balance": BALANCE, "currency": "CNY"}}]
    assert state["node"] == "balance_said"
    (amount,) = [p for p in state["playing"] if p["text"] == "一千两百三十四元五角六分"]
    # the amount plays as the caller hears it: each unit, in order, from the prompt store
    assert [u["unit"] for u in amount["units"]] == list(say_money(BALANCE, "zh"))
    for unit in amount["units"]:
        sound = admin.get(unit["audio_url"])
        assert sound.status_code == 200, (unit, sound.text)
        assert sound.headers["content-type"] == "audio/wav" and sound.content[:4] == b"RIFF"


def test_unit_audio_serves_only_the_units_of_a_site_language(site):
    viewer = site.client("viewer")
    assert viewer.get("/api/prompts/units/zh/money/yuan.wav").content[:4] == b"RIFF"
    unknown = viewer.get("/api/prompts/units/zh/num/../main.long.wav")
    assert unknown.status_code in (404, 422)
    missing = viewer.get("/api/prompts/units/zh/num/eleven.wav")
    assert missing.status_code == 404
    assert "there is no speech unit 'num/eleven' in zh" in missing.json()["error"]["message"]
    language = viewer.get("/api/prompts/units/fr/num/1.wav")
    assert language.status_code == 422
    assert "not one of the site's languages" in language.json()["error"]["message"]


def test_api_refuses_a_draft_with_errors_with_its_issues(site):
    admin = site.client("admin", name="breaker")
    draft = admin.get("/api/draft").json()
    node = admin.get("/api/draft/flows/bank/nodes/main_menu").json()["value"]
    node["options"]["5"] = "loans"
    admin.put("/api/draft/flows/bank/nodes/main_menu",
              json={"base": draft["base"], "revision": draft["revision"], "value": node})
    refused = admin.post("/api/tryit", json={})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "draft_invalid"
    assert any(i["path"] == "flows.bank.nodes.main_menu.options.5" for i in error["issues"])


@pytest.mark.parametrize(("body", "field"), [
    ({"keys": "12x"}, "keys"), ({"keys": ""}, "keys"), ({"seconds": 0}, "seconds"),
])
def test_api_validates_keys_and_seconds(site, body, field):
    admin = site.client()
    trial_id = admin.post("/api/tryit", json={}).json()["id"]
    action = "keys" if "keys" in body else "advance"
    reply = admin.post(f"/api/tryit/{trial_id}/{action}", json=body)
    assert reply.status_code == 422
    assert field in str(reply.json()["error"])


def test_api_is_for_admins_only(site):
    supervisor = site.client("supervisor")
    assert supervisor.post("/api/tryit", json={}).status_code == 403


def test_api_refuses_a_call_time_out_of_range(site):
    admin = site.client()
    reply = admin.post("/api/tryit", json={"at": "0001-01-01T00:00:00"})
    assert reply.status_code == 422
    assert "between 2000 and 2100" in str(reply.json()["error"])
