/* Queue and agent forms (queues and agents pages): each form changes only its own fields of
 * one queue or agent (form.dataset.list + index) in the acd section, read fresh from the
 * draft (GET /api/draft/sections/acd), and saves the section back (PUT). The page then
 * reloads so the checker's issues show beside the fields. Skills are typed "zh 10, yue 8";
 * queues "general, vip" (a membership's penalty is kept). */
"use strict";

(() => {
  const B = Branchline;

  function setPath(target, path, value) {
    const parts = path.split(".");
    let here = target;
    for (const part of parts.slice(0, -1)) {
      if (here[part] === undefined || here[part] === null) here[part] = {};
      here = here[part];
    }
    const last = parts[parts.length - 1];
    if (value === undefined) delete here[last]; else here[last] = value;
  }

  function read(input) {
    const raw = input.value.trim();
    switch (input.dataset.type) {
      case "number": return raw === "" ? undefined : Number(raw);
      case "optional-number": return raw === "" ? null : Number(raw);
      case "bool": return raw === "true";
      case "json": return JSON.parse(raw);
      case "skills": {
        const skills = {};
        for (const part of raw.split(/[,，]/).map((p) => p.trim()).filter(Boolean)) {
          const [name, level] = part.split(/\s+/);
          skills[name] = Number(level);
        }
        return skills;
      }
      case "memberships": return raw.split(/[,，]/).map((p) => p.trim()).filter(Boolean);
      default: return raw === "" ? undefined : raw;
    }
  }

  function memberships(names, before) {
    return names.map((name) => (before || []).find((m) => m.queue === name) || {queue: name});
  }

  for (const form of document.querySelectorAll("form.acd-form")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const got = await B.api("GET", "/api/draft/sections/acd");
      if (!got.ok) return B.showError(form, got);
      const acd = got.data.value;
      const item = acd[form.dataset.list][Number(form.dataset.index)];
      for (const input of form.querySelectorAll("[data-path]")) {
        let value = read(input);
        if (input.dataset.type === "memberships") value = memberships(value, item.queues);
        setPath(item, input.dataset.path, value);
      }
      const result = await B.api("PUT", "/api/draft/sections/acd",
        {base: got.data.base, revision: got.data.revision, value: acd});
      if (!result.ok) return B.showError(form, result);
      B.reloadWith(B.t("saved"));
    });
  }
})();
