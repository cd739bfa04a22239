/* Wallboard: one EventSource on /api/live/stream; every "snapshot" event redraws the queues
 * (waiting per class, oldest wait, service level today against its target), the agents
 * (state and time in it) and the calls talking to an agent. Formats match the server's first
 * paint (page_live.py). The browser reconnects by itself when the stream drops; the page says
 * so meanwhile.
 *
 * Supervising a call (docs/call-control.md). Listen opens the WebSocket
 * /api/calls/{id}/listen, which sends int16 LE mono at 8 kHz every 100 ms; each message
 * becomes an AudioBuffer at 8 kHz scheduled right after the previous one (a buffer queue; the
 * AudioContext resamples to the device), through an AnalyserNode that feeds the level meter.
 * The queue starts PREBUFFER_S ahead of the clock (and again after an underrun); when a burst
 * (after the network or the server stalled) leaves more than SLACK_S over that queued, the
 * excess is dropped, oldest first, and it never holds more than MAX_DEPTH_S: the delay comes
 * back to its target instead of keeping what a burst added, and stays bounded when
 * the network stalls. The page shows the delay: what is queued, plus the output's latency,
 * plus the server's 100 ms batching. Whisper, barge, take over and "phone out" POST
 * /api/calls/{id}/monitor and say the server's answer (or its refusal) in #wb-said.
 */
"use strict";

(() => {
  const B = Branchline;
  const $ = (id) => document.getElementById(id);
  const stateNames = JSON.parse($("state-names").textContent);

  function clock(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const whole = Math.max(Math.floor(seconds), 0);
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = String(whole % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }

  function percent(ratio) {
    return ratio === null || ratio === undefined ? "—" : Math.round(ratio * 100) + "%";
  }

  function card(name) {
    let article = document.querySelector('.wb-queue[data-queue="' + CSS.escape(name) + '"]');
    if (!article) {
      const template = document.querySelector(".wb-queue");
      if (!template) return null;
      article = template.cloneNode(true);
      article.dataset.queue = name;
      article.querySelector("h2").textContent = name;
      $("wb-queues").append(article);
    }
    return article;
  }

  function put(article, key, text) {
    const slot = article.querySelector('[data-k="' + key + '"]');
    if (slot) slot.textContent = text;
  }

  function draw(snapshot) {
    for (const q of snapshot.queues) {
      const article = card(q.name);
      if (!article) continue;
      const waiting = q.waiting || {};
      const total = Object.values(waiting).reduce((a, b) => a + b, 0);
      put(article, "waiting", total);
      put(article, "classes", Object.entries(waiting).map(([c, n]) => c + " " + n).join(" · "));
      put(article, "oldest", clock(q.oldest_wait_s));
      put(article, "sl", percent(q.service_level_today));
      const target = Object.values(q.target || {})[0];
      put(article, "target", target ? "/ " + Math.round(target.percent) + "% ≤ " + Math.round(target.seconds) + "s" : "");
      put(article, "answered", q.answered_today);
      put(article, "abandoned", q.abandoned_today);
      const below = target && q.service_level_today !== null && q.service_level_today * 100 < target.percent;
      article.classList.toggle("below-target", Boolean(below));
      article.classList.toggle("has-waiting", total > 0);
    }
    const body = $("wb-agents");
    body.textContent = "";
    const counts = {};
    for (const a of snapshot.agents) {
      counts[a.state] = (counts[a.state] || 0) + 1;
      const tr = document.createElement("tr");
      const cells = [a.name || a.id, null, clock(a.since_s), a.calls_today];
      for (const value of cells) {
        const td = document.createElement("td");
        if (value === null) {
          const span = document.createElement("span");
          span.className = "state state-" + a.state;
          span.textContent = stateNames[a.state] || a.state;
          td.append(span);
        } else {
          td.textContent = value;
          if (typeof value !== "string" || /^[0-9:—]+$/.test(value)) td.className = "num";
        }
        tr.append(td);
      }
      body.append(tr);
    }
    const states = $("wb-states");
    states.textContent = "";
    for (const [state, n] of Object.entries(counts)) {
      const box = document.createElement("div");
      box.className = "wb-state state-" + state;
      const big = document.createElement("span");
      big.className = "huge";
      big.textContent = n;
      const label = document.createElement("span");
      label.textContent = stateNames[state] || state;
      box.append(big, label);
      states.append(box);
    }
    drawCalls(snapshot.calls || []);
    const when = new Date(snapshot.time * 1000);
    $("wb-updated").textContent = B.t("updated") + " " +
      when.toLocaleTimeString(undefined, {timeZone: $("wb-updated").dataset.zone});
  }

  // --- calls with an agent, and supervising them ------------------------------------------

  const ACTIONS = ["listen", "whisper", "barge", "take_over", "leave"];

  function say(text, kind) {
    const box = $("wb-said");
    box.textContent = text;
    box.className = "hint " + (kind || "info");
  }

  function drawCalls(calls) {
    const body = $("wb-calls");
    const talking = calls.filter((c) => c.state === "talking" && c.agent);
    const rows = new Map([...body.querySelectorAll("tr[data-call]")].map((tr) => [tr.dataset.call, tr]));
    body.querySelector(".wb-none").hidden = talking.length > 0;
    for (const call of talking) {
      let tr = rows.get(call.call_id);
      rows.delete(call.call_id);
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.call = call.call_id;
        for (let i = 0; i < 4; i++) tr.append(document.createElement("td"));
        const actions = document.createElement("td");
        actions.className = "wb-actions";
        for (const action of ACTIONS) {
          const button = document.createElement("button");
          button.type = "button";
          button.dataset.act = action;
          button.textContent = B.t("monitor_" + action);
          button.setAttribute("aria-label", button.textContent + " · " + call.port + " · " + call.agent);
          actions.append(button);
        }
        tr.append(actions);
        body.append(tr);
      }
      const cells = tr.children;
      cells[0].textContent = call.port;
      cells[1].textContent = call.caller || "—";
      cells[2].textContent = call.queue || "—";
      cells[3].textContent = call.agent;
      tr.dataset.line = call.port;
      tr.dataset.agent = call.agent;
      tr.classList.toggle("listening", listener.callId === call.call_id);
    }
    for (const gone of rows.values()) gone.remove();
  }

  const listener = (() => {
    const RATE = 8000;
    const PREBUFFER_S = 0.15;
    const SLACK_S = 0.08;
    const MAX_DEPTH_S = 0.4;
    const SERVER_BATCH_S = 0.1;
    const state = {callId: null, received: 0, dropped: 0, underruns: 0};
    let ctx = null;
    let analyser = null;
    let socket = null;
    let next = 0;
    let meter = null;

    function audio() {
      if (ctx) return ctx;
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      try {
        ctx = new Context({sampleRate: RATE, latencyHint: "interactive"});
      } catch (error) {
        ctx = new Context({latencyHint: "interactive"});  // then buffers are resampled
      }
      analyser = ctx.createAnalyser();
      analyser.fftSize = 16384;
      analyser.connect(ctx.destination);
      return ctx;
    }

    function depth() {
      return ctx && state.callId ? Math.max(next - ctx.currentTime, 0) : 0;
    }

    function outputS() {
      return ctx ? (ctx.outputLatency || 0) + (ctx.baseLatency || 0) : 0;
    }

    function delayMs() {
      return Math.round((depth() + outputS() + SERVER_BATCH_S) * 1000);
    }

    function play(data) {
      const view = new DataView(data);
      let n = view.byteLength >> 1;
      if (!n) return;
      state.received += n;
      const now = ctx.currentTime;
      if (next < now + 0.01) {  // the first audio, or the queue ran dry: build it up again
        if (next) state.underruns += 1;
        next = now + PREBUFFER_S;
      }
      const ahead = next - now;
      // The oldest samples go first: back to the target after a burst, never over the most.
      const excess = ahead > PREBUFFER_S + SLACK_S ? Math.round((ahead - PREBUFFER_S) * RATE) : 0;
      const over = n - Math.floor((MAX_DEPTH_S - ahead) * RATE);
      const skip = Math.min(Math.max(excess, over, 0), n);
      state.dropped += skip;
      n -= skip;
      if (!n) return;
      const buffer = ctx.createBuffer(1, n, RATE);
      const samples = buffer.getChannelData(0);
      for (let i = 0; i < n; i++) samples[i] = view.getInt16(2 * (skip + i), true) / 32768;
      const node = ctx.createBufferSource();
      node.buffer = buffer;
      node.connect(analyser);
      node.start(next);
      next += n / RATE;
    }

    function showLevel() {
      const window_ = new Float32Array(Math.min(analyser.fftSize, 800));
      analyser.getFloatTimeDomainData(window_);
      let sum = 0;
      for (const v of window_) sum += v * v;
      const dbfs = 10 * Math.log10(sum / window_.length + 1e-12);
      $("wb-level").value = Math.max(dbfs, -60);
      const delay = $("wb-delay");
      delay.dataset.ms = delayMs();
      delay.textContent = B.t("monitor_delay", {ms: delay.dataset.ms});
    }

    function start(tr) {
      const context = audio();
      if (!context) return say(B.t("monitor_no_audio"), "error");
      stop();
      context.resume();
      Object.assign(state, {callId: tr.dataset.call, received: 0, dropped: 0, underruns: 0});
      next = 0;
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      socket = new WebSocket(scheme + "//" + location.host + "/api/calls/" +
                             encodeURIComponent(state.callId) + "/listen");
      socket.binaryType = "arraybuffer";
      const mine = socket;
      socket.addEventListener("message", (event) => play(event.data));
      socket.addEventListener("close", (event) => {
        if (socket !== mine) return;  // stopped by the page, or replaced by another listen
        stop();
        if (event.code === 1000) say(B.t("monitor_over"), "info");
        else say(B.t("monitor_refused") + " " + (event.reason || "HTTP " + event.code), "error");
      });
      $("wb-listening").textContent = B.t("monitor_listening", {line: tr.dataset.line, agent: tr.dataset.agent});
      $("wb-player").hidden = false;
      tr.classList.add("listening");
      say("", "info");
      meter = setInterval(showLevel, 100);
    }

    function stop() {
      if (!socket) return false;
      const was = socket;
      socket = null;
      was.close(1000);
      clearInterval(meter);
      state.callId = null;
      next = 0;
      $("wb-player").hidden = true;
      $("wb-level").value = -60;
      for (const tr of document.querySelectorAll("#wb-calls tr.listening")) tr.classList.remove("listening");
      return true;
    }

    // What the page plays, for people and for the browser test: the delay, counts, and the
    // analyser's window (what went to the speakers; its `last` samples) at the context's rate.
    window.wallboardListener = {
      get callId() { return state.callId; },
      get receivedSeconds() { return state.received / RATE; },
      get droppedSeconds() { return state.dropped / RATE; },
      get underruns() { return state.underruns; },
      get sampleRate() { return ctx ? ctx.sampleRate : null; },
      depthMs: () => Math.round(depth() * 1000),
      outputMs: () => Math.round(outputS() * 1000),
      delayMs,
      samples(last) {
        const data = new Float32Array(analyser.fftSize);
        analyser.getFloatTimeDomainData(data);
        return Array.from(last ? data.subarray(data.length - last) : data);
      },
    };
    return {start, stop, get callId() { return state.callId; }};
  })();

  async function act(tr, action) {
    if (action === "take_over" && !window.confirm(B.t("monitor_confirm_take_over"))) return;
    const result = await B.api("POST", "/api/calls/" + encodeURIComponent(tr.dataset.call) + "/monitor", {action});
    if (result.ok) say(B.t("monitor_done_" + action, {station: result.data.station}), "ok");
    else say((result.data && result.data.error && result.data.error.message) || "HTTP " + result.status, "error");
  }

  $("wb-calls").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-act]");
    if (!button) return;
    const tr = button.closest("tr");
    if (button.dataset.act === "listen") listener.start(tr);
    else act(tr, button.dataset.act);
  });
  $("wb-stop").addEventListener("click", () => {
    if (listener.stop()) say(B.t("monitor_stopped"), "info");
  });

  const source = new EventSource("/api/live/stream");
  source.addEventListener("snapshot", (event) => {
    $("wb-connection").textContent = B.t("live");
    $("wb-connection").className = "hint live";
    draw(JSON.parse(event.data));
  });
  source.addEventListener("error", () => {
    $("wb-connection").textContent = B.t("offline");
    $("wb-connection").className = "hint offline";
  });
})();
