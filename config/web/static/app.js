/* Branchline admin page: the few things every page does, in plain JavaScript.
 *
 * Branchline.api(method, url, body) sends JSON (or FormData / text) with the CSRF header
 * from <meta name="csrf-token"> and resolves to {ok, status, data}. Errors come back in the
 * API's one shape {error: {code, message, issues}}; showError() writes the message and each
 * issue (path, what, fix) next to the form, in the page's language (requests send it as
 * Accept-Language; the API adds each checker issue's text in it as issue.said). Elements
 * with data-action run the action of that
 * name on submit (forms) or click (buttons); data-confirm asks first (destructive actions).
 */
"use strict";

const Branchline = (() => {
  const messages = JSON.parse(document.getElementById("messages").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function t(key, values) {
    let text = messages[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  async function api(method, url, body) {
    const options = {method, credentials: "same-origin",
                     headers: {"X-CSRF-Token": csrf, "Accept-Language": document.documentElement.lang}};
    if (body instanceof FormData || typeof body === "string") {
      options.body = body;
      if (typeof body === "string") options.headers["Content-Type"] = "text/csv";
    } else if (body !== undefined) {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, options);
    let data = null;
    const type = response.headers.get("content-type") || "";
    const text = await response.text();
    if (text && type.includes("application/json")) data = JSON.parse(text);
    return {ok: response.ok, status: response.status, data};
  }

  function status(text, kind) {
    const box = document.getElementById("status");
    if (!box) return;
    box.textContent = text;
    box.className = "status " + (kind || "info");
  }

  function errorText(result) {
    const error = result.data && result.data.error;
    if (!error) return t("error") + " HTTP " + result.status;
    return (result.status === 409 ? t("conflict") + " " : t("error") + " ") + error.message;
  }

  function showError(form, result) {
    const text = errorText(result);
    const slot = form && form.querySelector('[data-error-for="form"]');
    const issues = (result.data && result.data.error && result.data.error.issues) || [];
    if (slot) {
      slot.textContent = "";
      slot.append(text);
      if (issues.length) {
        const list = document.createElement("ul");
        list.className = "issues";
        for (const issue of issues) {
          const item = document.createElement("li");
          item.className = "issue " + (issue.severity || "error");
          const said = issue.said || issue;
          item.textContent = issue.path + ": " + said.message + " — " + said.fix;
          list.append(item);
        }
        slot.append(list);
      }
    }
    status(text, "error");
  }

  function field(form, name) {
    const element = form.elements.namedItem(name);
    return element ? element.value : "";
  }

  function reloadWith(message) {
    sessionStorage.setItem("branchline-status", message);
    location.reload();
  }

  const actions = {
    async login(form) {
      const result = await api("POST", "/api/session",
        {name: field(form, "name"), password: field(form, "password")});
      if (!result.ok) return showError(form, result);
      location.href = form.dataset.next || "/";
    },
    async setup(form) {
      if (field(form, "password") !== field(form, "password2")) {
        return showError(form, {status: 0, data: {error: {message: t("passwords_differ")}}});
      }
      const result = await api("POST", "/api/setup", {token: field(form, "token"),
        name: field(form, "name"), password: field(form, "password"),
        language: field(form, "language")});
      if (!result.ok) return showError(form, result);
      location.href = "/";
    },
    async logout() {
      await api("DELETE", "/api/session");
      location.href = "/login";
    },
    async language(button) {
      const result = await api("PUT", "/api/session/language",
        {language: button.dataset.language});
      if (!result.ok) return showError(null, result);
      location.reload();
    },
    async publish(form) {
      const result = await api("POST", "/api/versions", {note: field(form, "note"),
        base: draftBase(form), revision: Number(form.dataset.revision)});
      if (!result.ok) return showError(form, result);
      reloadWith(t("published"));
    },
    async "discard-draft"(button) {
      const result = await api("DELETE", "/api/draft");
      if (!result.ok) return showError(button.form, result);
      reloadWith(t("discarded"));
    },
    async rollback(button) {
      const result = await api("POST", "/api/versions/" + button.dataset.number + "/rollback",
        {note: ""});
      if (!result.ok) return showError(null, result);
      reloadWith(t("rolled_back"));
    },
    async "save-section"(form) {
      let value;
      try {
        value = JSON.parse(field(form, "value"));
      } catch (problem) {
        return showError(form, {status: 0, data: {error: {message: t("bad_json") + " " + problem.message}}});
      }
      const result = await api("PUT", "/api/draft/sections/" + form.dataset.section,
        {base: draftBase(form), revision: Number(form.dataset.revision), value});
      if (!result.ok) return showError(form, result);
      reloadWith(t("saved"));
    },
    async "agent-state"(button) {
      const result = await api("POST", "/api/agents/" + encodeURIComponent(button.dataset.agent) + "/state",
        {action: button.dataset.state, reason: null});
      if (!result.ok) return showError(null, result);
      status(t("sent"), "ok");
    },
    async "user-create"(form) {
      const result = await api("POST", "/api/users", {name: field(form, "name"),
        role: field(form, "role"), language: field(form, "language"),
        password: field(form, "password")});
      if (!result.ok) return showError(form, result);
      reloadWith(t("user_added"));
    },
    async "user-update"(form) {
      const change = {role: field(form, "role")};
      if (field(form, "password")) change.password = field(form, "password");
      const result = await api("PATCH", "/api/users/" + encodeURIComponent(form.dataset.user), change);
      if (!result.ok) return showError(form, result);
      reloadWith(t("user_saved"));
    },
    async "user-delete"(button) {
      const result = await api("DELETE", "/api/users/" + encodeURIComponent(button.dataset.user));
      if (!result.ok) return showError(null, result);
      reloadWith(t("deleted"));
    },
    async "prompt-upload"(form) {
      const data = new FormData();
      data.append("file", form.elements.namedItem("file").files[0]);
      const url = "/api/prompts/" + encodeURIComponent(field(form, "name")) + "/" + field(form, "language");
      const result = await api("PUT", url, data);
      if (!result.ok) return showError(form, result);
      reloadWith(t("uploaded"));
    },
    async "prompt-synth"(form) {
      const url = "/api/prompts/" + encodeURIComponent(field(form, "name")) + "/" +
        field(form, "language") + "/synthesise";
      const result = await api("POST", url, {text: field(form, "text")});
      if (!result.ok) return showError(form, result);
      reloadWith(t("synthesised"));
    },
    async selftest(button) {
      const out = document.getElementById("selftest-result");
      out.textContent = t("selftest_running");
      button.disabled = true;
      const result = await api("POST", "/api/system/selftest");
      button.disabled = false;
      if (!result.ok) return showError(null, result);
      const ports = (result.data && result.data.ports) || [];
      out.textContent = ports.length
        ? ports.map((p) => p.name + ": " + t(p.ok ? "selftest_ok" : "selftest_failed")).join("\n")
        : JSON.stringify(result.data, null, 2);
    },
    async restore(form) {
      const data = new FormData();
      data.append("file", form.elements.namedItem("file").files[0]);
      const result = await api("POST", "/api/system/restore", data);
      if (!result.ok) return showError(form, result);
      reloadWith(t("restored"));
    },
  };

  function draftBase(element) {
    const base = element.dataset.base;
    return base === "" || base === "None" ? null : Number(base);
  }

  async function run(element, event) {
    const name = element.dataset.action;
    if (!actions[name]) return;
    event.preventDefault();
    if (element.dataset.confirm && !window.confirm(element.dataset.confirm)) return;
    await actions[name](element);
  }

  document.addEventListener("submit", (event) => {
    if (event.target.dataset.action) run(event.target, event);
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button && button.type !== "submit") run(button, event);
  });
  // A flow diagram opens on the node being edited, else on its start: dot may put the start
  // anywhere down the left side, and the pane's top left corner is often empty. The pane
  // scrolls, not the page, so the header and the form stay where they are.
  function showNode(pane, node) {
    const box = node.getBoundingClientRect();
    const view = pane.getBoundingClientRect();
    pane.scrollLeft += box.left + box.width / 2 - view.left - pane.clientWidth / 2;
    pane.scrollTop += box.top + box.height / 2 - view.top - pane.clientHeight / 2;
  }
  for (const pane of document.querySelectorAll(".diagram")) {
    const start = pane.querySelector(".node .start");
    const node = pane.querySelector(".node.current") || (start && start.closest(".node"));
    if (node) showNode(pane, node);
  }

  const pending = sessionStorage.getItem("branchline-status");
  if (pending) {
    sessionStorage.removeItem("branchline-status");
    status(pending, "ok");
  }

  return {api, t, status, showError, draftBase, reloadWith};
})();
