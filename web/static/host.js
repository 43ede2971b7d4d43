// Host pages, progressive enhancement only: every action works without this file.
// - The schedule builder shows only the shape chosen, and "Add a date" adds a session row.
// - The calendar page gets a "Copy link" button.
(function () {
  "use strict";

  function showChosenShape(form) {
    var chosen = form.querySelector("input[data-shape-choice]:checked");
    var value = chosen ? chosen.value : null;
    form.querySelectorAll("fieldset[data-shape]").forEach(function (set) {
      // With no shape chosen (or the "keep current" choice), every shape stays visible.
      set.hidden = value !== null && value in { dated: 1, weekly: 1, flexible: 1 } &&
        set.getAttribute("data-shape") !== value;
    });
  }

  function addRow(form) {
    var rows = form.querySelectorAll("tr[data-row]");
    if (!rows.length) return;
    var last = rows[rows.length - 1];
    var row = last.cloneNode(true);
    var index = rows.length;
    row.querySelectorAll("input, label").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace(/sessions-\d+-/, "sessions-" + index + "-"));
      });
      if (el.tagName === "LABEL") {
        el.textContent = el.textContent.replace(/Session \d+/, "Session " + (index + 1));
      } else {
        el.value = "";
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
      }
    });
    row.querySelectorAll("p.error").forEach(function (p) { p.remove(); });
    last.parentNode.appendChild(row);
    var first = row.querySelector("input");
    if (first) first.focus();
  }

  // The shape each kind usually has; on a new opportunity, choosing the kind picks it until
  // the host picks a shape themselves.
  var SHAPE_FOR_KIND = { job_shadow: "dated", internship: "weekly", micro_internship: "flexible" };

  function setUpBuilder(form) {
    var shapeTouched = !form.hasAttribute("data-new");
    form.querySelectorAll("input[data-shape-choice]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        shapeTouched = true;
        showChosenShape(form);
      });
    });
    var kind = form.querySelector("select[name=kind]");
    if (kind) {
      kind.addEventListener("change", function () {
        if (shapeTouched) return;
        var radio = form.querySelector("input[data-shape-choice][value=" + SHAPE_FOR_KIND[kind.value] + "]");
        if (radio) {
          radio.checked = true;
          showChosenShape(form);
        }
      });
    }
    showChosenShape(form);
    var add = form.querySelector("button[data-add-row]");
    if (add) {
      add.hidden = false;
      add.addEventListener("click", function () { addRow(form); });
      form.querySelectorAll(".no-js-hint").forEach(function (hint) { hint.hidden = true; });
    }
  }

  function setUpCopy(button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = "Copied";
      }, function () {
        input.select();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("opportunity-form");
    if (form) setUpBuilder(form);
    document.querySelectorAll("button[data-copy]").forEach(setUpCopy);
  });
})();
