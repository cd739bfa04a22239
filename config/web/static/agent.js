/* Agent desktop: one EventSource on /api/agent/desk/stream; every "desk" event redraws the
 * state, the buttons the state allows, and the call with its screen pop. Everything shown
 * comes from the appliance, so a reload mid-call draws the same call; the notes being typed
 * are kept in sessionStorage per call until they are saved. The state buttons send the same
 * transitions as the keypad codes (/api/agent/state); the desk shows the ACD's state however
 * it changed. Call control (/api/agent/call) likewise: the buttons the call's control phase
 * allows are enabled, and the phase shown is the appliance's, whether the page or the phone's
 * flash and codes got it there; a step the appliance refused comes back as the desk's notice.
 */
"use strict";

(() => {
  const B = Branchline;
  const $ = (id) => document.getElementById(id);
  let desk = JSON.parse($("desk").textContent);
  let shownCall = null;
  let shownNotice = null;
  // The call-control phases each action is allowed in (firmware/web/desk_control.py).
  const ALLOWED = {
    hold: ["talking", "conference"], retrieve: ["held", "consult_ringing", "consulting"],
    cancel: ["consult_ringing", "consulting"], complete: ["consulting", "conference"],
    conference: ["consulting"], transfer: ["talking", "held"], consult: ["talking", "held"],
  };

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

  function drawTargets() {
    const select = $("ad-target");
    const targets = desk.targets || {agents: [], queues: [], outside: {}};
    const options = [];
    for (const a of targets.agents) {
      options.push(["agent:" + a.id, B.t("agent_target_agent",
        {id: a.id, name: a.name || "", state: B.t("agent_state_" + a.state)}), a.state !== "ready"]);
    }
    for (const q of targets.queues) options.push(["queue:" + q, B.t("agent_target_queue", {name: q}), false]);
    for (const [digit, number] of Object.entries(targets.outside)) {
      options.push(["outside:" + digit, B.t("agent_target_outside", {number}), false]);
    }
    const key = JSON.stringify(options);
    if (select.dataset.filled === key) return;
    const chosen = select.value;
    select.textContent = "";
    for (const [value, label, busy] of options) {
      const option = new Option(label, value, false, value === chosen);
      option.disabled = busy;
      select.append(option);
    }
    select.dataset.filled = key;
  }

  function drawControl() {
    const call = desk.call;
    const control = call && call.control;
    const mine = !!control && control.agent === desk.agent;
    const phase = control ? control.phase : "";
    const badge = $("ad-control");
    badge.textContent = control ? B.t("agent_control_" + phase) +
      (mine ? "" : " · " + B.t("agent_with", {agent: control.agent})) : "";
    badge.dataset.control = phase;
    $("ad-held").textContent = control && control.held && control.held_since ?
      B.t("agent_held_since", {time: new Date(control.held_since * 1000).toLocaleTimeString()}) : "";
    const target = $("ad-target").value || "";
    for (const [action, phases] of Object.entries(ALLOWED)) {
      let allowed = mine && phases.includes(phase);
      if (action === "consult") allowed = allowed && target.startsWith("agent:");
      $("ad-" + action).disabled = !allowed;
    }
    $("ad-target").disabled = !mine || !ALLOWED.transfer.includes(phase);
    const notice = desk.notice;
    if (notice && JSON.stringify(notice) !== shownNotice) {
      $("ad-error").textContent = notice.message;
    }
    shownNotice = notice ? JSON.stringify(notice) : null;
  }

  function draw() {
    drawState();
    drawCall();
    drawTargets();
    drawControl();
  }

  function control(action, target) {
    return send("/api/agent/call", target === undefined ? {action} : {action, target});
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
  for (const action of ["hold", "retrieve", "cancel", "complete", "conference"]) {
    $("ad-" + action).addEventListener("click", () => control(action));
  }
  $("ad-transfer").addEventListener("click", () => {
    const [kind, ...rest] = $("ad-target").value.split(":");
    control("transfer_" + kind, rest.join(":"));
  });
  $("ad-consult").addEventListener("click", () => control("consult", $("ad-target").value.split(":").slice(1).join(":")));
  $("ad-target").addEventListener("change", drawControl);
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
