// sysconfig serve's page script: the filter box, local times, and live updates from /events. The page
// is complete without it. Text from the server is only ever set with textContent, never as markup;
// after a run finishes the page's sections are fetched again and swapped in (no reload).
"use strict";

(function () {
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function localTimes(root) {
    for (const t of $$("time[datetime]", root)) {
      const d = new Date(t.getAttribute("datetime"));
      if (!Number.isNaN(d.getTime())) {
        t.title = t.getAttribute("datetime");
        t.textContent = d.toLocaleString();
      }
    }
  }

  function applyFilter() {
    const box = $("#filter");
    if (!box) return;
    box.hidden = false;
    const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const body of $$("table.objects tbody.service")) {
      let shown = 0;
      for (const row of $$("tr.object", body)) {
        const text = row.getAttribute("data-search") || "";
        const hit = words.every((w) => text.includes(w));
        row.classList.toggle("filtered-out", !hit);
        if (hit) shown += 1;
      }
      body.classList.toggle("filtered-out", shown === 0);
    }
  }

  const SIGN = { create: "+", update: "~", delete: "-", unchanged: " ", unmanaged: "!" };

  function changeItem(change) {
    const li = el("li", "change");
    li.setAttribute("data-subject", change.subject);
    const head = el("div", "change-head");
    head.append(el("span", `action ${change.action}`, `${SIGN[change.action] || "?"} ${change.action}`), " ");
    head.append(el("code", "", change.subject), " ");
    head.append(el("span", "result pending", "pending"));
    li.append(head);
    return li;
  }

  function showLive(data) {
    const live = $("#live");
    if (!live) return;
    live.hidden = false;
    live.setAttribute("data-run", String(data.id));
    live.replaceChildren();
    const h2 = el("h2", "", `Run #${data.id} in progress `);
    h2.append(el("small", "", (data.reasons || []).join(", ")));
    live.append(h2, el("p", "empty", "Reading the target…"));
  }

  function showPlan(data) {
    const live = $("#live");
    if (!live || live.getAttribute("data-run") !== String(data.id)) return;
    const old = $("p.empty", live);
    if (old) old.remove();
    const list = el("ul", "changes");
    for (const change of data.changes) list.append(changeItem(change));
    if (data.changes.length === 0) live.append(el("p", "empty", "Nothing to change."));
    live.append(list);
  }

  function showResult(data) {
    const live = $("#live");
    if (!live || live.getAttribute("data-run") !== String(data.id)) return;
    const li = $$("li.change", live).find((item) => item.getAttribute("data-subject") === data.subject);
    if (!li) return;
    const badge = $(".result", li);
    badge.className = `result ${data.status}`;
    badge.textContent = data.status;
    if (data.reason) li.append(el("p", "reason", data.reason));
  }

  let refreshing = false;
  let again = false;
  async function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      const res = await fetch("/", {
        headers: { accept: "text/html" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const open = new Set($$("details.run[open]").map((d) => d.id));
      const filter = $("#filter") ? $("#filter").value : "";
      const unmanaged = $("#show-unmanaged") ? $("#show-unmanaged").checked : false;
      for (const id of ["header", "live", "objects", "runs"]) {
        const fresh = doc.getElementById(id);
        const current = document.getElementById(id);
        if (fresh && current) current.replaceWith(document.importNode(fresh, true));
      }
      for (const d of $$("details.run")) if (open.has(d.id)) d.open = true;
      if ($("#filter")) $("#filter").value = filter;
      if ($("#show-unmanaged")) $("#show-unmanaged").checked = unmanaged;
      wire();
    } catch {
      // The next event or reconnect tries again.
    } finally {
      refreshing = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  }

  function status(text, down) {
    let badge = $("#conn");
    if (!badge) {
      badge = el("span", "conn");
      badge.id = "conn";
      const h1 = $("header h1");
      if (h1) h1.append(badge);
    }
    badge.textContent = text;
    badge.classList.toggle("down", down);
  }

  function wire() {
    const box = $("#filter");
    if (box && !box.dataset.wired) {
      box.dataset.wired = "1";
      box.addEventListener("input", applyFilter);
    }
    applyFilter();
    localTimes(document);
    status(source && source.readyState === 1 ? "live" : "connecting…", !(source && source.readyState === 1));
  }

  let source;
  function connect() {
    if (typeof EventSource === "undefined") return;
    source = new EventSource("/events");
    const on = (type, handle) =>
      source.addEventListener(type, (event) => {
        try {
          handle(JSON.parse(event.data));
        } catch {
          void refresh();
        }
      });
    on("run.started", showLive);
    on("run.planned", showPlan);
    on("change.result", showResult);
    on("run.finished", () => void refresh());
    source.addEventListener("open", () => {
      status("live", false);
      // Whatever happened while disconnected.
      void refresh();
    });
    source.addEventListener("error", () => status("reconnecting…", true));
  }

  document.addEventListener("DOMContentLoaded", () => {
    connect();
    wire();
  });
})();
