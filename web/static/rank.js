/* Ranking page enhancement (web/templates/student/ranking.html).
 *
 * Without this file every Move up / Move down / Remove button is a plain form POST. With it:
 * the buttons move the item in place (focus stays on it, and a live region says where it went),
 * items can be dragged by mouse, pen or touch, and every change is saved with
 * PUT /api/rankings. Work is never lost to a network blip: the order waiting to be saved is kept
 * in localStorage, saving is retried with backoff until the server has it, and a reload
 * restores it if the server never got it. */
(function () {
  "use strict";

  var list = document.getElementById("ranking");
  if (!list || !window.fetch) {
    return;
  }
  var saveUrl = list.getAttribute("data-save-url");
  var storageKey = "wbl-ranking-" + list.getAttribute("data-student");
  var statusBox = document.getElementById("ranking-save-status");
  var announcer = document.getElementById("ranking-announce");
  var countBox = document.getElementById("ranking-count");
  var emptyBox = document.getElementById("ranking-empty");
  var heading = document.getElementById("ranking-heading");
  var MAX_DELAY_MS = 60000;
  var STALE_MS = 7 * 24 * 3600 * 1000; // an unsaved order older than a week is dropped

  var saved = parseOrder(list.getAttribute("data-order")); // what the server holds
  var sending = false;
  var again = false; // the order changed while a save was on its way
  var delay = 0;
  var retryTimer = null;

  function parseOrder(text) {
    return text ? text.split(",").map(Number) : [];
  }

  function items() {
    return Array.prototype.slice.call(list.querySelectorAll("li[data-opportunity-id]"));
  }

  function order() {
    return items().map(function (li) {
      return Number(li.getAttribute("data-opportunity-id"));
    });
  }

  function same(a, b) {
    return a.length === b.length && a.every(function (v, i) { return v === b[i]; });
  }

  function titleOf(li) {
    return "\u201c" + li.getAttribute("data-title") + "\u201d";
  }

  function announce(text) {
    // Clear first so the same sentence twice is still read out.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function setStatus(state, text) {
    statusBox.setAttribute("data-state", state);
    statusBox.textContent = text;
  }

  // --- local copy of the order waiting to be saved ---------------------------------------

  function remember(pending) {
    try {
      window.localStorage.setItem(
        storageKey, JSON.stringify({ order: pending, base: saved, at: Date.now() }));
    } catch (e) { /* private mode or full: saving still retries while the page is open */ }
  }

  function forget() {
    try { window.localStorage.removeItem(storageKey); } catch (e) { /* see remember */ }
  }

  function recall() {
    try {
      var value = JSON.parse(window.localStorage.getItem(storageKey) || "null");
      if (value && Array.isArray(value.order) && Array.isArray(value.base) &&
          Date.now() - value.at < STALE_MS) {
        return value;
      }
    } catch (e) { /* unreadable: nothing to restore */ }
    forget();
    return null;
  }

  // --- the page ----------------------------------------------------------------------------

  function refresh() {
    var all = items();
    all.forEach(function (li, k) {
      li.querySelector("[data-position]").textContent = String(k + 1);
      li.querySelector("[data-move='up']").disabled = k === 0;
      li.querySelector("[data-move='down']").disabled = k === all.length - 1;
    });
    if (countBox) {
      countBox.textContent = "you have " + all.length;
    }
    if (emptyBox) {
      emptyBox.hidden = all.length > 0;
    }
  }

  var removed = {}; // items taken out on this page, by id, in case the server refuses

  function arrange(ids) {
    var byId = {};
    items().forEach(function (li) { byId[li.getAttribute("data-opportunity-id")] = li; });
    ids.forEach(function (id) {
      var li = byId[id] || removed[id];
      if (li) {
        list.appendChild(li);
        delete byId[id];
        delete removed[id];
      }
    });
    Object.keys(byId).forEach(function (id) {
      removed[id] = byId[id];
      byId[id].remove();
    });
    refresh();
  }

  // --- saving --------------------------------------------------------------------------------

  function changed() {
    var pending = order();
    remember(pending);
    if (retryTimer) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
    }
    if (sending) {
      again = true;
      return;
    }
    send();
  }

  function send() {
    var pending = order();
    sending = true;
    again = false;
    setStatus("saving", "Saving\u2026");
    window.fetch(saveUrl, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ opportunities: pending })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    }).then(function (answer) {
      sending = false;
      if (answer.status === 200) {
        saved = answer.body.opportunities || pending;
        delay = 0;
        if (again || !same(order(), saved)) {
          send();
          return;
        }
        forget();
        setStatus("saved", "Saved");
      } else if (answer.status === 400) {
        refused(answer.body.error || "the server refused it.");
      } else if (answer.status === 401) {
        retry("You are signed out. Sign in again in another tab; your order is kept on " +
              "this device and saved once you are back.");
      } else {
        retry("Not saved yet (the server answered " + answer.status + ").");
      }
    }, function () {
      sending = false;
      retry("Not saved yet: no connection.");
    });
  }

  function refused(message) {
    // The server will not take this order (say an opportunity was closed meanwhile): show
    // why and go back to what it holds, so the page never claims what is not saved.
    forget();
    arrange(saved);
    setStatus("refused", "Not saved: " + message);
    announce("Not saved: " + message);
  }

  function retry(message) {
    delay = Math.min(delay ? delay * 2 : 1000, MAX_DELAY_MS);
    setStatus("retrying", message + " Retrying in " + Math.round(delay / 1000) + " s\u2026");
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      send();
    }, delay);
  }

  window.addEventListener("online", function () {
    if (retryTimer) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
      send();
    }
  });

  window.addEventListener("beforeunload", function (event) {
    // The order is in localStorage either way; this only warns that it has not reached the
    // server yet.
    if (sending || retryTimer) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // --- moving by buttons (keyboard and pointer) ---------------------------------------------

  function focusAfterMove(li, direction) {
    var button = li.querySelector("[data-move='" + direction + "']");
    if (button.disabled) {
      button = li.querySelector("[data-move='" + (direction === "up" ? "down" : "up") + "']");
    }
    (button.disabled ? li : button).focus();
  }

  function move(li, direction) {
    var all = items();
    var at = all.indexOf(li);
    var to = direction === "up" ? at - 1 : at + 1;
    if (to < 0 || to >= all.length) {
      return;
    }
    if (direction === "up") {
      list.insertBefore(li, all[to]);
    } else {
      list.insertBefore(li, all[to].nextSibling);
    }
    refresh();
    focusAfterMove(li, direction);
    announce("Moved " + titleOf(li) + " to position " + (to + 1) + " of " + all.length + ".");
    changed();
  }

  function removeItem(li) {
    var all = items();
    var at = all.indexOf(li);
    var title = titleOf(li);
    removed[li.getAttribute("data-opportunity-id")] = li;
    li.remove();
    refresh();
    var rest = items();
    var next = rest[Math.min(at, rest.length - 1)];
    if (next) {
      next.querySelector("[data-remove]").focus();
    } else {
      heading.focus();
    }
    announce("Removed " + title + ". " + rest.length + " left in your ranking.");
    changed();
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !list.contains(button)) {
      return;
    }
    var li = button.closest("li[data-opportunity-id]");
    event.preventDefault(); // handled here instead of by the form POST
    if (button.hasAttribute("data-remove")) {
      removeItem(li);
    } else if (button.hasAttribute("data-move")) {
      move(li, button.getAttribute("data-move"));
    }
  });

  // --- dragging (pointer events: mouse, pen and touch alike) --------------------------------

  var drag = null;

  list.addEventListener("pointerdown", function (event) {
    var li = event.target.closest("li[data-opportunity-id]");
    if (!li || event.button !== 0 || event.target.closest("button, a, input, form")) {
      return;
    }
    // On a touch screen only the handle drags, so the rest of the item still scrolls the page.
    if (event.pointerType === "touch" && !event.target.closest("[data-drag-handle]")) {
      return;
    }
    event.preventDefault();
    drag = { li: li, start: order(), pointer: event.pointerId };
    li.classList.add("dragging");
    list.classList.add("is-dragging");
    try { list.setPointerCapture(event.pointerId); } catch (e) { /* not capturable */ }
  });

  list.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.pointer) {
      return;
    }
    var all = items();
    var from = all.indexOf(drag.li);
    for (var k = 0; k < all.length; k++) {
      var box = all[k].getBoundingClientRect();
      if (k === from || event.clientY < box.top || event.clientY > box.bottom) {
        continue;
      }
      // Past the middle of the item in the direction of travel: take its place.
      var middle = box.top + box.height / 2;
      if (k > from && event.clientY >= middle) {
        list.insertBefore(drag.li, all[k].nextSibling);
        refresh();
      } else if (k < from && event.clientY <= middle) {
        list.insertBefore(drag.li, all[k]);
        refresh();
      }
      break;
    }
  });

  function endDrag(event) {
    if (!drag || event.pointerId !== drag.pointer) {
      return;
    }
    var li = drag.li;
    var before = drag.start;
    drag = null;
    li.classList.remove("dragging");
    list.classList.remove("is-dragging");
    var now = order();
    if (!same(before, now)) {
      var at = now.indexOf(Number(li.getAttribute("data-opportunity-id")));
      announce("Moved " + titleOf(li) + " to position " + (at + 1) + " of " + now.length + ".");
      changed();
    }
  }

  list.addEventListener("pointerup", endDrag);
  list.addEventListener("pointercancel", endDrag);
  list.addEventListener("dragstart", function (event) { event.preventDefault(); });

  // --- on load: restore an order the server never got --------------------------------------

  var pending = recall();
  if (pending) {
    // Keep the local reorder and removals, and anything added since on another page.
    var merged = pending.order.filter(function (id) { return saved.indexOf(id) >= 0; });
    saved.forEach(function (id) {
      if (pending.order.indexOf(id) < 0 && pending.base.indexOf(id) < 0) {
        merged.push(id);
      }
    });
    if (same(merged, saved)) {
      forget();
    } else {
      arrange(merged);
      setStatus("saving", "Restoring the changes you made that were not saved\u2026");
      changed();
    }
  }
  list.classList.add("enhanced");
})();
