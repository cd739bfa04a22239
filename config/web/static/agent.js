/* Agent desktop: one EventSource on /api/agent/desk/stream; every "desk" event redraws the
 * state, the buttons the state allows, and the call with its screen pop. Everything shown
 * comes from the appliance, so a reload mid-call draws the same call; the notes being typed
 * are kept in sessionStorage per call until they are saved. The state buttons send the same
 * transitions as the keypad codes (/api/agent/state); the desk shows the ACD's state however
 * it changed.
 */
"use strict";

(() => {
  const B = Branchline;
  const $ = (id) => document.getElementById(id);
  let desk = JSON.parse($("desk").textContent);
  let shownCall = null;

  function clock(seconds) {
    const whole = Math.max(Math.floor(seconds || 0), 0);
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  }

  function text(id, value) {
    $(id).textContent = value === null || value === undefined || value === "" ? B.t("agent_none") : value;
  }

  function list(id, items) {
    const box = $(id);
    box.textContent = "";
    for (const line of items) {
      const item = document.createElement("li");
      item.textContent = line;
      box.append(item);
    }
    if (!items.length) {
      const item = document.createElement("li");
      item.textContent = B.t("agent_none");
      box.append(item);
    }
  }

  function step(s) {
    let said = s.node + ": " + B.t("agent_did_" + s.did);
    if (s.did === "typed") said += " " + (s.value || B.t("agent_hidden"));
    else if (s.value) said += " " + s.value;
    return said;
  }

  function drawState() {
    const state = desk.state;
    const badge = $("ad-state");
    badge.textContent = B.t("agent_state_" + state);
    badge.className = "state state-" + state;
    badge.dataset.state = state;
    $("ad-since").textContent = desk.reason ? "(" + desk.reason + ")" : "";
    const out = state === "logged_out";
    $("ad-login-form").hidden = !out;
    $("ad-at-station").textContent = out ? "" : desk.station;
    const select = $("ad-station");
    if (out && select.dataset.filled !== desk.stations.join(",")) {
      select.textContent = "";
      for (const name of desk.stations) {
        const option = new Option(name, name, false, name === desk.home_station);
        select.append(option);
      }
      select.dataset.filled = desk.stations.join(",");
    }
    $("ad-ready").disabled = !["not_ready", "wrap_up"].includes(state);
    $("ad-not-ready").disabled = !["ready", "wrap_up", "talking"].includes(state);
    $("ad-reason").disabled = $("ad-not-ready").disabled;
    $("ad-end-wrapup").disabled = state !== "wrap_up";
    $("ad-logout").disabled = out;
  }

  function drawCall() {
    const call = desk.call;
    $("ad-no-call").hidden = !!call;
    $("ad-pop").hidden = !call;
    if (!call) {
      $("ad-phase").textContent = "";
      return;
    }
    const pop = call.pop;
    $("ad-phase").textContent = B.t("agent_phase_" + call.phase);
    $("ad-phase").dataset.phase = call.phase;
    text("ad-caller", pop.caller);
    text("ad-vip", pop.vip ? B.t("agent_yes") : B.t("agent_no"));
    text("ad-class", pop.class);
    text("ad-language", pop.language);
    text("ad-queue", pop.queue);
    text("ad-waited", clock(pop.waited_s));
    text("ad-card", pop.card);
    text("ad-host", pop.host.map((h) => h.endpoint + ": " + h.status + (h.code ? " (" + h.code + ")" : "")).join(", "));
    list("ad-path", pop.path.map(step));
    list("ad-today", pop.calls_today.map((c) =>
      new Date(c.time * 1000).toLocaleTimeString() + " · " + c.outcome + (c.agent ? " · " + c.agent : "")));
    if (shownCall !== call.call_id) {
      shownCall = call.call_id;
      const saved = call.disposition;
      $("ad-notes").value = sessionStorage.getItem("bl-notes-" + call.call_id) || (saved ? saved.notes : "");
      if (saved) $("ad-code").value = saved.code;
    }
    $("ad-saved").textContent = call.disposition ? B.t("agent_saved") + ": " + call.disposition.code : "";
    $("ad-wrap").hidden = call.phase === "offered";
  }

  function draw() {
    drawState();
    drawCall();
  }

  async function send(url, body) {
    $("ad-error").textContent = "";
    const result = await B.api("POST", url, body);
    if (!result.ok) {
      B.showError(null, result);
      $("ad-error").textContent = result.data && result.data.error ? result.data.error.message : "HTTP " + result.status;
    }
    return result;
  }

  $("ad-login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send("/api/agent/login", {station: $("ad-station").value || null});
  });
  $("ad-ready").addEventListener("click", () => send("/api/agent/state", {action: "ready"}));
  $("ad-not-ready").addEventListener("click", () =>
    send("/api/agent/state", {action: "not_ready", reason: $("ad-reason").value}));
  $("ad-end-wrapup").addEventListener("click", () => send("/api/agent/state", {action: "end_wrapup"}));
  $("ad-logout").addEventListener("click", () => send("/api/agent/state", {action: "logout"}));
  $("ad-notes").addEventListener("input", () => {
    if (desk.call) sessionStorage.setItem("bl-notes-" + desk.call.call_id, $("ad-notes").value);
  });
  $("ad-wrap").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const call = desk.call;
    if (!call) return;
    const result = await B.api("POST", "/api/agent/disposition",
      {call_id: call.call_id, code: $("ad-code").value, notes: $("ad-notes").value});
    if (!result.ok) return B.showError(form, result);
    form.querySelector('[data-error-for="form"]').textContent = "";
    sessionStorage.removeItem("bl-notes-" + call.call_id);
    B.status(B.t("agent_saved"), "ok");
  });

  draw();
  const source = new EventSource("/api/agent/desk/stream");
  source.addEventListener("desk", (event) => {
    desk = JSON.parse(event.data);
    $("ad-connection").textContent = "";
    $("ad-connection").className = "hint live";
    draw();
  });
  source.addEventListener("error", () => {
    $("ad-connection").textContent = B.t("agent_lost");
    $("ad-connection").className = "hint offline";
  });
})();
