// Sortable tables, as a progressive enhancement: each column heading of a
// <table data-sortable> holds a link that asks the server for that order (so sorting works
// without JavaScript); with it, the click (or Enter on the focused link) sorts the rows in
// place instead, updates aria-sort and the links, keeps the order in the address bar, and
// announces it in the table's live region (data-status="<id>").
// Cells sort by their data-sort value (numbers for data-type="num" columns); an empty value
// sorts last in either direction, as on the server.
(function () {
  "use strict";

  function value(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === "") return null;
    return numeric ? Number(raw) : raw;
  }

  function compare(a, b, numeric) {
    if (numeric) return a - b;
    return a.localeCompare(b, undefined, { sensitivity: "base", numeric: true });
  }

  function linkFor(link, key, dir) {
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("sort", key);
    url.searchParams.set("dir", dir);
    url.searchParams.delete("page");
    return url.pathname + url.search;
  }

  function sortBy(table, heading, descending) {
    var headings = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headings.indexOf(heading);
    var numeric = heading.getAttribute("data-type") === "num";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      return { row: row, key: value(row, index, numeric), position: position };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) return a.position - b.position;
        return a.key === null ? 1 : -1;
      }
      var order = compare(a.key, b.key, numeric);
      if (descending) order = -order;
      return order || a.position - b.position;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });

    headings.forEach(function (th) {
      var link = th.querySelector("a");
      var key = th.getAttribute("data-sort-key");
      if (!link || !key) return;
      if (th === heading) {
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        link.setAttribute("href", linkFor(link, key, descending ? "asc" : "desc"));
      } else {
        th.removeAttribute("aria-sort");
        link.setAttribute("href", linkFor(link, key, "asc"));
      }
    });
    var here = new URL(window.location.href);
    here.searchParams.set("sort", heading.getAttribute("data-sort-key"));
    here.searchParams.set("dir", descending ? "desc" : "asc");
    window.history.replaceState(null, "", here.pathname + here.search + here.hash);
    // Forms and links that send the visitor back here keep the new order too.
    var back = here.pathname + here.search;
    table.querySelectorAll("input[name=next]").forEach(function (input) {
      input.value = back;
    });
    table.querySelectorAll("a[href*='next=']").forEach(function (link) {
      var target = new URL(link.href, window.location.href);
      target.searchParams.set("next", back);
      link.setAttribute("href", target.pathname + target.search);
    });
    var status = document.getElementById(table.getAttribute("data-status") || "");
    if (status) {
      status.textContent = "Sorted by " + heading.textContent.trim() + ", " +
        (descending ? "descending" : "ascending") + ".";
    }
  }

  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (heading) {
      var link = heading.querySelector("a");
      if (!link || !heading.hasAttribute("data-sort-key")) return;
      link.addEventListener("click", function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        sortBy(table, heading, heading.getAttribute("aria-sort") === "ascending");
      });
    });
  });
})();
