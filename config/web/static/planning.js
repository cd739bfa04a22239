/* Planning page: edit the day's shifts (add, remove, save as a new roster version) and press
 * the roster check; both go to the JSON API, and the page reloads to show the result. A
 * problem's path (shifts.<row>...) marks its row. */
"use strict";

(() => {
  const B = Branchline;
  const form = document.getElementById("roster-form");
  if (!form) return;
  const body = document.querySelector("#shifts tbody");

  function breaks(text) {
    // "12:00-12:30, 15:00-15:15"; a piece without "-" goes as it is and the API says why.
    return text.split(/[,，\s]+/).filter(Boolean).map((piece) => {
      const [start, end] = piece.split(/[-–]/);
      return {start: start || "", end: end || ""};
    });
  }

  function shifts() {
    return [...body.querySelectorAll("tr.shift-row")].map((row) => ({
      agent: row.querySelector(".shift-agent").value,
      start: row.querySelector(".shift-start").value.trim(),
      end: row.querySelector(".shift-end").value.trim(),
      breaks: breaks(row.querySelector(".shift-breaks").value),
    }));
  }

  document.getElementById("add-shift").addEventListener("click", () => {
    const row = document.getElementById("shift-template").content.firstElementChild
      .cloneNode(true);
    body.append(row);
    row.querySelector(".shift-agent").focus();
  });

  body.addEventListener("click", (event) => {
    const button = event.target.closest("button.shift-remove");
    if (button) button.closest("tr").remove();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rows = [...body.querySelectorAll("tr.shift-row")];
    rows.forEach((row) => row.classList.remove("has-issue"));
    const base = form.dataset.base === "" ? null : Number(form.dataset.base);
    const result = await B.api("PUT", "/api/planning/" + form.dataset.day + "/roster",
      {base, note: document.getElementById("roster-note").value, shifts: shifts()});
    if (!result.ok) {
      const issues = (result.data && result.data.error && result.data.error.issues) || [];
      for (const issue of issues) {
        const found = /^shifts\.(\d+)/.exec(issue.path || "");
        if (found && rows[Number(found[1])]) rows[Number(found[1])].classList.add("has-issue");
      }
      return B.showError(form, result);
    }
    B.reloadWith(B.t("planning_saved", {version: result.data.version}));
  });

  const check = document.getElementById("check-roster");
  check.addEventListener("click", async () => {
    check.disabled = true;
    B.status(B.t("planning_checking"));
    const result = await B.api("POST", "/api/planning/" + check.dataset.day + "/check");
    check.disabled = false;
    if (!result.ok) return B.showError(form, result);
    B.reloadWith(B.t("planning_checked"));
  });
})();
