"use strict";
// The mailbox form: suggests Servidor and Puerto for the chosen type and protocol (unless the
// user typed his own) and shows only the fields that type uses. It only saves typing: the
// server fills the same suggestions and validates everything again.
(function () {
  function show(element, visible) {
    // A part with an error stays visible, or the user could not see what to fix.
    const keep = element.querySelector(".errorlist") !== null;
    element.style.display = visible || keep ? "" : "none";
  }

  function init() {
    const form = document.getElementById("receptionmailbox_form");
    if (!form) {
      return;
    }
    const type = form.elements.namedItem("server_type");
    const protocol = form.elements.namedItem("protocol");
    const security = form.elements.namedItem("security");
    const host = form.elements.namedItem("host");
    const port = form.elements.namedItem("port");
    if (!type || !protocol || !host || !port) {
      return; // read-only view
    }
    const hosts = JSON.parse(protocol.dataset.suggestedHosts || "{}");
    const ports = JSON.parse(protocol.dataset.suggestedPorts || "{}");
    const knownHosts = new Set(Object.values(hosts));
    const knownPorts = new Set(Object.values(ports).map(String));
    let hostEdited = false;
    let portEdited = false;
    host.addEventListener("input", function () { hostEdited = true; });
    port.addEventListener("input", function () { portEdited = true; });

    function suggest() {
      const suggestedHost = hosts[type.value + ":" + protocol.value] || "";
      const suggestedPort = ports[protocol.value + ":" + ((security && security.value) || "ssl")];
      if (!hostEdited && (host.value === "" || knownHosts.has(host.value))) {
        host.value = suggestedHost;
      }
      if (!portEdited && suggestedPort && (port.value === "" || knownPorts.has(port.value))) {
        port.value = String(suggestedPort);
      }
    }

    function toggle() {
      const modern = type.value === "outlook_modern";
      form.querySelectorAll("fieldset.modern-auth").forEach(function (fieldset) {
        show(fieldset, modern);
      });
      form.querySelectorAll("fieldset.basic-auth").forEach(function (fieldset) {
        show(fieldset, type.value !== "" && !modern);
      });
      const backup = form.querySelector(".field-backup_email");
      if (backup) {
        show(backup, protocol.value === "pop3");
      }
    }

    [type, protocol, security].forEach(function (select) {
      if (select) {
        select.addEventListener("change", function () {
          suggest();
          toggle();
        });
      }
    });
    toggle();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
