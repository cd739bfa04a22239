/* SIP page: generate or reset a phone's password (shown once, here), set a trunk's. */
"use strict";

(() => {
  const B = Branchline;
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-sip-generate]");
    if (!button) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    const station = button.dataset.sipGenerate;
    const result = await B.api("POST", "/api/sip/phones/" + encodeURIComponent(station) +
                               "/password");
    if (!result.ok) return B.showError(null, result);
    const shown = document.getElementById("sip-secret");
    shown.hidden = false;
    shown.textContent = B.t("sip_generated", {station}) + "\n" + result.data.password;
  });
  for (const form of document.querySelectorAll("form.sip-trunk-password")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = form.elements.namedItem("password");
      const result = await B.api("PUT", "/api/sip/trunks/" +
                                 encodeURIComponent(form.dataset.trunk) + "/password",
                                 {password: field.value});
      field.value = "";
      if (!result.ok) return B.showError(form, result);
      B.reloadWith(B.t("sip_password_set"));
    });
  }
})();
