/* Wallboard: one EventSource on /api/live/stream; every "snapshot" event redraws the queues
 * (waiting per class, oldest wait, service level today against its target) and the agents
 * (state and time in it). Formats match the server's first paint (page_live.py). The
 * browser reconnects by itself when the stream drops; the page says so meanwhile.
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
    const when = new Date(snapshot.time * 1000);
    $("wb-updated").textContent = B.t("updated") + " " +
      when.toLocaleTimeString(undefined, {timeZone: $("wb-updated").dataset.zone});
  }

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
