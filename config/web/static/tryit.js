/* Try it: a simulated call on the draft, driven from the on-screen keypad (or the keyboard).
 *
 * Every button is one API call (/api/tryit...) answered with the call's whole state; render()
 * draws it: the node (highlighted on the diagram by data-node), what plays (text, and the
 * audio where the prompt has some; a spoken amount or date as its speech units one after the
 * other, as the caller hears it), the timers in simulated seconds, the budgets as bars,
 * the event lines and, at the end, the outcome.
 */
"use strict";

(() => {
  const B = Branchline;
  const $ = (id) => document.getElementById(id);
  let trial = null;
  let busy = false;
  let lastPlay = "";
  const player = new Audio();
  let queue = [];  // the sounds of what plays now, one after the other

  function playNext() {
    const url = queue.shift();
    if (!url) return;
    player.src = url;
    player.play().catch(() => {});  // a browser may refuse sound before the first click
  }
  player.addEventListener("ended", playNext);
  player.addEventListener("error", playNext);  // a piece without audio: go on with the rest

  function setEnabled(on) {
    for (const button of document.querySelectorAll(".keypad .key, #try-next, #try-advance, #try-hangup")) {
      button.disabled = !on;
    }
  }

  function outcomeText(outcome) {
    if (outcome.kind === "queue") {
      return B.t("outcome_queue", {queue: outcome.queue, class: outcome.class || "—",
        skills: (outcome.skills || []).join(", ") || "—"});
    }
    if (outcome.kind === "transfer") return B.t("outcome_transfer", {target: outcome.target});
    return B.t("outcome_hangup", {reason: outcome.reason});
  }

  function render(state) {
    $("try-node").textContent = state.node || "—";
    $("try-phase").textContent = state.phase ? "(" + state.phase + ")" : "";
    $("try-time").textContent = state.time_s.toFixed(1);
    for (const node of document.querySelectorAll(".flow .node.current")) node.classList.remove("current");
    for (const node of document.querySelectorAll('.flow .node[data-node="' + CSS.escape(state.node) + '"]')) {
      node.classList.add("current");
      node.scrollIntoView({block: "nearest", inline: "center"});
    }
    const playing = $("try-playing");
    playing.textContent = "";
    for (const item of state.playing) {
      const li = document.createElement("li");
      li.textContent = (item.prompt ? item.prompt + "：" : "") + item.text;
      if (!item.audio_url && !(item.units && item.units.length)) li.classList.add("no-audio");
      playing.append(li);
    }
    const key = JSON.stringify(state.playing);
    if (key !== lastPlay) {
      lastPlay = key;
      player.pause();
      queue = state.playing.flatMap((p) => p.units ? p.units.map((u) => u.audio_url) : [p.audio_url])
        .filter(Boolean);
      if ($("try-sound").checked) playNext();
    }
    const timers = $("try-timers");
    timers.textContent = "";
    for (const timer of state.timers) {
      const li = document.createElement("li");
      li.textContent = B.t("timer_" + timer.name) + ": " + timer.due_in_s.toFixed(1) + " s";
      li.dataset.timer = timer.name;
      timers.append(li);
    }
    const budgets = $("try-budgets");
    budgets.textContent = "";
    for (const [name, budget] of Object.entries(state.budgets)) {
      const row = document.createElement("div");
      row.className = "budget";
      row.dataset.budget = name;
      const label = document.createElement("span");
      label.textContent = B.t("budget_" + name) + " " + budget.used + " / " + budget.limit;
      const bar = document.createElement("progress");
      bar.max = budget.limit;
      bar.value = Math.min(budget.used, budget.limit);
      bar.setAttribute("aria-label", label.textContent);
      row.append(label, bar);
      budgets.append(row);
    }
    const events = $("try-events");
    events.textContent = "";
    for (const line of state.events) {
      const li = document.createElement("li");
      li.textContent = line;
      events.append(li);
    }
    events.scrollTop = events.scrollHeight;
    for (const reply of state.host_replies.slice(-1)) {
      B.status(B.t("host_asked") + " " + reply.endpoint + " " + reply.status, "info");
    }
    const out = $("try-outcome");
    if (state.outcome) {
      out.textContent = B.t("ended") + " " + outcomeText(state.outcome);
      out.className = "outcome ended";
      setEnabled(false);
      queue = [];
      player.pause();
      trial = null;
    } else {
      out.textContent = "";
      out.className = "outcome";
      setEnabled(true);
    }
  }

  async function send(method, path, body) {
    if (busy) return;
    busy = true;
    try {
      const result = await B.api(method, path, body);
      if (!result.ok) {
        B.showError(null, result);
        if (result.status === 404) { trial = null; setEnabled(false); }
        return;
      }
      if (result.data) render(result.data);
    } finally {
      busy = false;
    }
  }

  $("tryit-start").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (trial) await B.api("DELETE", "/api/tryit/" + trial);
    const at = $("try-at").value;
    const result = await B.api("POST", "/api/tryit", {flow: $("try-flow").value,
      caller_number: $("try-caller").value.trim(), at: at ? at + ":00" : null});
    if (!result.ok) return B.showError($("tryit-start"), result);
    trial = result.data.id;
    render(result.data);
    document.querySelector(".keypad .key").focus();
  });

  function press(key) {
    if (trial) send("POST", "/api/tryit/" + trial + "/keys", {keys: key});
  }

  for (const button of document.querySelectorAll(".keypad .key")) {
    button.addEventListener("click", () => press(button.dataset.key));
  }
  document.addEventListener("keydown", (event) => {
    if (!trial || event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") return;
    if (/^[0-9*#]$/.test(event.key)) {
      event.preventDefault();
      press(event.key);
    }
  });
  $("try-next").addEventListener("click", () => {
    if (trial) send("POST", "/api/tryit/" + trial + "/advance", {seconds: "next"});
  });
  $("try-advance").addEventListener("click", () => {
    if (trial) send("POST", "/api/tryit/" + trial + "/advance", {seconds: 5});
  });
  $("try-hangup").addEventListener("click", async () => {
    if (!trial) return;
    await B.api("DELETE", "/api/tryit/" + trial);
    trial = null;
    setEnabled(false);
    player.pause();
    $("try-outcome").textContent = B.t("ended") + " " + B.t("outcome_hangup", {reason: "caller_hung_up"});
  });
})();
