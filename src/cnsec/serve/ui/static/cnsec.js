// The dashboard's own script: the pages' actions go to the JSON API with the session's CSRF secret, then
// the page's main part is fetched again (htmx). Loaded as a file: the Content-Security-Policy allows no
// inline script, style or on* handler. Every control works without it as far as a plain page can
// (filters are ordinary GET forms); actions need it.
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  var toastTimer = null;
  function say(text, bad) {
    var box = document.getElementById("toast");
    if (!box) { return; }
    box.textContent = text;
    box.className = bad ? "bad" : "good";
    box.hidden = false;
    if (toastTimer) { clearTimeout(toastTimer); }
    toastTimer = setTimeout(function () { box.hidden = true; }, bad ? 8000 : 3000);
  }

  async function send(method, url, body) {
    var response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf()},
      body: JSON.stringify(body || {})
    });
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      throw new Error(data && data.error ? data.error.message : "HTTP " + response.status);
    }
    return data;
  }

  // the page's main part again, in place (a full load without htmx)
  function refresh() {
    if (window.htmx) {
      return window.htmx.ajax("GET", window.location.pathname + window.location.search,
                              {target: "#main", select: "#main", swap: "outerHTML"});
    }
    window.location.reload();
    return Promise.resolve();
  }

  async function run(control, method, url, body, done) {
    control.disabled = true;
    control.setAttribute("aria-busy", "true");
    try {
      await send(method, url, body);
      await refresh();
      say(done, false);
    } catch (err) {
      say(err.message, true);
      control.disabled = false;
      control.removeAttribute("aria-busy");
    }
  }

  // a button with data-api: POST there (no body), e.g. acknowledge, approve, apply
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-api]");
    if (!button) { return; }
    event.preventDefault();
    run(button, "POST", button.getAttribute("data-api"), {}, button.textContent.trim() + ": done");
  });

  // a form with data-api (and data-method, POST by default): its fields as JSON. The fields named by
  // data-list are lists (a user's roles); data-bulk names the list of rows acted on (the ids), which
  // must not be empty
  function formBody(form) {
    var data = new FormData(form);
    var bulk = form.getAttribute("data-bulk");
    var lists = (form.getAttribute("data-list") || "").split(" ").concat(bulk ? [bulk] : []);
    var body = {};
    data.forEach(function (value, name) {
      var field = form.querySelector('[name="' + name + '"]');
      var holder = field ? field.closest("[data-when]") : null;
      if (lists.indexOf(name) >= 0 || value === "" || (holder && holder.hidden)) { return; }
      body[name] = value;
    });
    if (body.until) {  // a day: suppressed until the end of it, in UTC, as the API's epoch seconds
      body.until = Date.parse(body.until + "T23:59:59Z") / 1000;
    }
    lists.forEach(function (name) { if (name) { body[name] = data.getAll(name); } });
    return body;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-api]");
    if (!form) { return; }
    event.preventDefault();
    var body = formBody(form);
    var bulk = form.getAttribute("data-bulk");
    if (bulk && body[bulk].length === 0) { say("Select at least one row first.", true); return; }
    var button = form.querySelector('button[type="submit"]');
    run(button || form, form.getAttribute("data-method") || "POST", form.getAttribute("data-api"), body,
        (bulk ? body[bulk].length + " updated" : "done"));
  });

  function countSelected() {
    var n = document.querySelectorAll('input[name="ids"]:checked').length;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = n + " selected";
    });
  }

  // which fields an action needs: <label data-when="suppress"> shows for action suppress only
  function showFields(select) {
    var form = select.form;
    form.querySelectorAll("[data-when]").forEach(function (el) {
      el.hidden = el.getAttribute("data-when") !== select.value;
    });
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-select-all]")) {
      document.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = el.checked; });
    }
    if (el.matches('input[name="ids"], [data-select-all]')) { countSelected(); }
    if (el.matches("select[data-shows]")) { showFields(el); }
    if (el.matches("[data-autosubmit]") && el.form) { el.form.requestSubmit(); }
  });

  function init() {
    document.querySelectorAll("select[data-shows]").forEach(showFields);
    countSelected();
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();
