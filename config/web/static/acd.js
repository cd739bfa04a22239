/* Queue and agent forms (queues and agents pages): each form changes only its own fields of
 * one queue or agent (form.dataset.list + index) in the acd section, read fresh from the
 * draft (GET /api/draft/sections/acd), and saves the section back (PUT). The page then
 * reloads so the checker's issues show beside the fields. Skills are typed "zh 10, yue 8";
 * queues "general, vip 2" (a number after a queue is the agent's penalty there, 0 when
 * left out; lower penalties are offered calls first). A value that is not a number is sent
 * as null, so the checker says what is wrong beside the field and nothing is guessed. */
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

  function number(raw) {
    const value = Number(raw);
    return Number.isFinite(value) ? value : null;
  }

  function read(input) {
    const raw = input.value.trim();
    switch (input.dataset.type) {
      case "number": return raw === "" ? undefined : number(raw);
      case "optional-number": return raw === "" ? null : number(raw);
      case "bool": return raw === "true";
      case "json": return JSON.parse(raw);
      case "skills": {
        const skills = {};
        for (const part of raw.split(/[,，]/).map((p) => p.trim()).filter(Boolean)) {
          const [name, level] = part.split(/\s+/);
          skills[name] = number(level);
        }
        return skills;
      }
      case "memberships": return raw.split(/[,，]/).map((p) => p.trim()).filter(Boolean)
        .map((part) => {
          const [queue, penalty] = part.split(/\s+/);
          return penalty === undefined ? {queue} : {queue, penalty: number(penalty)};
        });
      default: return raw === "" ? undefined : raw;
    }
  }

  for (const form of document.querySelectorAll("form.acd-form")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const got = await B.api("GET", "/api/draft/sections/acd");
      if (!got.ok) return B.showError(form, got);
      const acd = got.data.value;
      const item = acd[form.dataset.list][Number(form.dataset.index)];
      for (const input of form.querySelectorAll("[data-path]")) {
        setPath(item, input.dataset.path, read(input));
      }
      const result = await B.api("PUT", "/api/draft/sections/acd",
        {base: got.data.base, revision: got.data.revision, value: acd});
      if (!result.ok) return B.showError(form, result);
      B.reloadWith(B.t("saved"));
    });
  }
})();
