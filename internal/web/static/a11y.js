// Ties the portal's form errors to their fields for assistive technology, and moves focus to the
// error summary at the top of the page. The pages work without it; it only adds what a screen
// reader needs: aria-invalid and aria-describedby on each field with a problem.
(function () {
  "use strict";
  var n = 0;
  document.querySelectorAll(".field-problem").forEach(function (msg) {
    var field = null;
    var prev = msg.previousElementSibling;
    if (prev && prev.matches("input, select, textarea")) {
      field = prev;
    } else if (prev) {
      field = prev.querySelector("input:not([type=hidden]), select, textarea");
    }
    if (!field) {
      var label = msg.closest("label");
      if (label) field = label.querySelector("input:not([type=hidden]), select, textarea");
    }
    if (!field) return;
    if (!msg.id) msg.id = "field-problem-" + (++n);
    field.setAttribute("aria-invalid", "true");
    var ids = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (ids.indexOf(msg.id) < 0) ids.push(msg.id);
    field.setAttribute("aria-describedby", ids.join(" "));
  });
  var summary = document.getElementById("problem");
  if (summary) summary.focus();
})();
