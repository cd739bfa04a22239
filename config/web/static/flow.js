/* The flow page: the node form beside the diagram.
 *
 * The form starts from the node as the draft holds it (#node-original) and changes only the
 * fields shown; saving sends the whole node to PUT /api/draft/flows/{flow}/nodes/{node}
 * (a subflow's node goes through its flow's section, PUT /api/draft/sections/flows). The page
 * then reloads, so the diagram's badges and the issues beside each field are the checker's.
 */
"use strict";

(() => {
  const B = Branchline;
  const form = document.getElementById("node-form");
  const addForm = document.getElementById("add-node-form");

  function promptValue(text) {
    const names = text.split(",").map((s) => s.trim()).filter(Boolean);
    return names.length === 1 ? names[0] : names;
  }

  function readNode() {
    const value = JSON.parse(document.getElementById("node-original").textContent);
    for (const box of form.querySelectorAll("[data-field]")) {
      const name = box.dataset.field;
      const control = box.dataset.control;
      if (control === "options") {
        const options = {};
        for (const row of box.querySelectorAll("tr.option-row")) {
          const key = row.querySelector(".opt-key").value.trim();
          if (key) options[key] = row.querySelector(".opt-target").value;
        }
        value.options = options;
        continue;
      }
      const input = box.querySelector("input, select, textarea");
      if (!input || control === "prompt-complex") continue;
      const raw = input.value.trim();
      if (control === "target" || control === "text") {
        if (raw === "") delete value[name]; else value[name] = raw;
      } else if (control === "number") {
        if (raw === "") delete value[name]; else value[name] = Number(raw);
      } else if (control === "bool") {
        value[name] = raw === "true";
      } else if (control === "prompt") {
        if (raw === "") delete value[name]; else value[name] = promptValue(raw);
      } else if (control === "other") {
        value[name] = JSON.parse(raw);
      }
    }
    return value;
  }

  async function putNode(flow, node, value, base, revision) {
    if (!node.includes(":")) {
      return B.api("PUT", "/api/draft/flows/" + encodeURIComponent(flow) + "/nodes/" +
        encodeURIComponent(node), {base, revision, value});
    }
    // A subflow's node: edit the flows section, the one place that reaches it.
    const [sub, name] = node.split(":");
    const got = await B.api("GET", "/api/draft/sections/flows");
    if (!got.ok) return got;
    const flows = got.data.value;
    flows[flow].subflows[sub].nodes[name] = value;
    return B.api("PUT", "/api/draft/sections/flows", {base, revision, value: flows});
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      let value;
      try {
        value = readNode();
      } catch (problem) {
        return B.showError(form, {status: 0, data: {error: {message: B.t("bad_json") + " " + problem.message}}});
      }
      const result = await putNode(form.dataset.flow, form.dataset.node, value,
        B.draftBase(form), Number(form.dataset.revision));
      if (!result.ok) return B.showError(form, result);
      B.reloadWith(B.t("saved"));
    });
    form.addEventListener("click", (event) => {
      if (event.target.classList.contains("remove-option")) {
        const row = event.target.closest("tr");
        const issues = row.nextElementSibling;
        if (issues && issues.classList.contains("issue-row")) issues.remove();
        row.remove();
      }
    });
    const add = document.getElementById("add-option");
    if (add) {
      add.addEventListener("click", () => {
        const row = document.getElementById("option-template").content.firstElementChild.cloneNode(true);
        add.closest("fieldset").querySelector("tbody").append(row);
        row.querySelector(".opt-key").focus();
      });
    }
    const remove = document.getElementById("delete-node");
    remove.addEventListener("click", async (event) => {
      event.preventDefault();
      if (!window.confirm(remove.dataset.confirm)) return;
      const node = form.dataset.node;
      const url = "/api/draft/flows/" + encodeURIComponent(form.dataset.flow) + "/nodes/" +
        encodeURIComponent(node) + "?base=" + (B.draftBase(form) ?? "") + "&revision=" + form.dataset.revision;
      const result = await B.api("DELETE", url);
      if (!result.ok) return B.showError(form, result);
      sessionStorage.setItem("branchline-status", B.t("deleted"));
      location.href = "/flows/" + encodeURIComponent(form.dataset.flow);
    });
  }

  if (addForm) {
    addForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const skeletons = JSON.parse(document.getElementById("skeletons").textContent);
      const name = document.getElementById("new-name").value.trim();
      const value = skeletons[document.getElementById("new-kind").value];
      const result = await putNode(addForm.dataset.flow, name, value,
        B.draftBase(addForm), Number(addForm.dataset.revision));
      if (!result.ok) return B.showError(addForm, result);
      sessionStorage.setItem("branchline-status", B.t("saved"));
      location.href = "/flows/" + encodeURIComponent(addForm.dataset.flow) + "?node=" +
        encodeURIComponent(name) + "#node-h";
    });
  }
})();
