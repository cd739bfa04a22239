/* Integrations page: issue a CTI token (shown once, with the webhook secret), revoke one. */
"use strict";

(() => {
  const B = Branchline;
  const form = document.getElementById("int-issue");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = form.elements.namedItem("webhook_url").value.trim();
    const result = await B.api("POST", "/api/integrations", {
      name: form.elements.namedItem("name").value.trim(),
      scopes: form.elements.namedItem("scopes").value.split(/\s+/).filter(Boolean),
      webhook_url: url || null});
    if (!result.ok) return B.showError(form, result);
    const shown = document.getElementById("int-secret");
    shown.hidden = false;
    shown.textContent = B.t("integration_issued") + "\ntoken: " + result.data.token +
      (result.data.webhook_secret ? "\nwebhook secret: " + result.data.webhook_secret : "");
  });
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-integration]");
    if (!button) return;
    const result = await B.api("DELETE", "/api/integrations/" + encodeURIComponent(button.dataset.integration));
    if (!result.ok) return B.showError(null, result);
    B.reloadWith(B.t("deleted"));
  });
})();
