// Live figures of a running solve (coordinator run page). Polls GET /api/runs/<id> and fills
// in the page's [data-field] elements; when the run ends it reloads, so the server renders the
// outcome and its links. Without JavaScript the page has a Refresh link instead.
(function () {
  "use strict";

  var section = document.getElementById("run-live");
  if (!section || section.dataset.status !== "running") {
    return;
  }
  var api = section.dataset.api;
  var levels = JSON.parse(section.dataset.levels || "{}");
  var phases = JSON.parse(section.dataset.phases || "{}");
  var EVERY_MS = 1000;
  var MAX_WAIT_MS = 10000;
  var wait = EVERY_MS;
  var notice = null;

  function field(name) {
    return section.querySelector('[data-field="' + name + '"]');
  }

  function setText(name, text) {
    var el = field(name);
    if (el && el.textContent !== text) {
      el.textContent = text;
    }
  }

  function number(x) {
    return typeof x === "number" && isFinite(x) ? Math.round(x).toLocaleString("en-US") : "\u2014";
  }

  function share(x) {
    return typeof x === "number" && isFinite(x) ? (100 * x).toFixed(2) + "%" : "\u2014";
  }

  function gapOf(objective, bound) {
    if (typeof objective !== "number" || typeof bound !== "number") {
      return null;
    }
    return Math.abs(bound - objective) / Math.max(1, Math.abs(bound));
  }

  function say(text) {
    // One polite status line for trouble reaching the server; the figures are not announced.
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "hint";
      notice.setAttribute("role", "status");
      section.appendChild(notice);
    }
    notice.textContent = text;
  }

  function showLevels(rows) {
    var table = document.querySelector('table[data-field="levels"] tbody');
    if (!table || !Array.isArray(rows) || rows.length === 0) {
      return;
    }
    var fresh = document.createDocumentFragment();
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = levels[row.level] || row.level;
      tr.appendChild(th);
      [number(row.objective), number(row.bound), share(gapOf(row.objective, row.bound))].forEach(
        function (text) {
          var td = document.createElement("td");
          td.className = "num";
          td.textContent = text;
          tr.appendChild(td);
        }
      );
      fresh.appendChild(tr);
    });
    table.replaceChildren(fresh);
  }

  function show(run) {
    var p = run.progress || {};
    var elapsed = typeof p.elapsed_s === "number" ? p.elapsed_s : 0;
    var bar = field("bar");
    if (bar) {
      bar.value = Math.min(elapsed, Number(bar.max) || elapsed);
    }
    setText("elapsed", elapsed.toFixed(1));
    setText("phase", phases[p.phase] || "");
    setText("level", p.level ? levels[p.level] || p.level : "\u2014");
    setText("objective", number(p.objective));
    setText("bound", number(p.bound));
    setText("gap", share(p.gap));
    showLevels(p.levels);
  }

  function poll() {
    fetch(api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          say("This run can no longer be followed here; reload the page.");
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (run) {
        if (run === null) {
          return;
        }
        if (notice) {
          say("");
        }
        wait = EVERY_MS;
        if (run.status !== "running") {
          window.location.reload();
          return;
        }
        show(run);
        window.setTimeout(poll, wait);
      })
      .catch(function () {
        // A network blip: keep the last figures, try again less often.
        wait = Math.min(wait * 2, MAX_WAIT_MS);
        say("Lost contact with the server; trying again. The solve keeps running.");
        window.setTimeout(poll, wait);
      });
  }

  window.setTimeout(poll, EVERY_MS);
})();
