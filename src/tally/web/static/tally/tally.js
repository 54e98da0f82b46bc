// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // The language menu applies on change; its button stays for keyboard and no-JS users.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });
  // Upload drop zones: highlight while a file is dragged over, list the chosen files' names.
  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    var list = document.createElement("span");
    list.className = "dropzone-files";
    list.setAttribute("aria-live", "polite");
    zone.appendChild(list);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.add("is-over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("is-over"); });
    });
    input.addEventListener("change", function () {
      list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
    });
  });
})();
