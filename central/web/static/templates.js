/* The centre's Templates page: an admin's "Unassign" button takes a template back from a
 * branch (DELETE /api/templates/{name}/branches/{branch}, with app.js's CSRF header), after
 * asking; the page then reloads with the result. */
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-unassign]");
  if (!button) return;
  event.preventDefault();
  if (!window.confirm(button.dataset.confirm)) return;
  const url = "/api/templates/" + encodeURIComponent(button.dataset.unassign) + "/branches/" +
    encodeURIComponent(button.dataset.branch);
  const result = await Branchline.api("DELETE", url);
  if (!result.ok) return Branchline.showError(button.closest("section"), result);
  Branchline.reloadWith(button.dataset.done);
});
