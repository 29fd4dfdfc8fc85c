/* ff-otel dashboard: the explorer pages (/traces, /logs, /metrics, /sql).
 *
 * A page's filters live in its URL: submitting the form pushes a new URL, back and
 * forward restore the form from it and load again, so every view is a bookmark.
 * The list pages poll like the overview (paused while the tab is hidden).
 */
"use strict";

(function () {
  const { $, h, clock, getJSON, postJSON, fmt } = window.FFDom;
  const REFRESH = Math.max(1000, (Number(document.querySelector('meta[name="refresh-seconds"]').content) || 5) * 1000);
  const SINCE = ["15m", "1h", "6h", "24h", "7d"];
  const page = location.pathname.split("/")[1];
  let timer = null;
  let lastSql = null;
  let loads = 0;

  const field = (name, label, props) => h("label", { className: (props && props.wide) ? "wide" : "" }, label,
    h("input", { attrs: { name, type: "text", placeholder: (props && props.placeholder) || "" } }));
  const choice = (name, label, options) => h("label", {}, label,
    h("select", { attrs: { name } }, ...options.map(([value, text]) => h("option", { text, attrs: { value } }))));
  const since = () => choice("since", "since", SINCE.map((s) => [s, `last ${s}`]));
  const submit = (text) => h("button", { type: "submit", text: text || "Apply", dataset: { testid: "apply" } });
  const link = (href, text, testid) => h("a", { text, attrs: { href }, dataset: testid ? { testid } : {} });
  const traceHref = (id, at) => `/traces/${id}` + (at ? `?at=${encodeURIComponent(at)}` : "");

  const PAGES = {
    traces: {
      title: "Traces",
      form: () => [field("service", "service"), field("name", "operation (span name)"), choice("status", "status", [["", "any"], ["error", "error"], ["ok", "ok"]]),
        field("min_ms", "min duration (ms)"), field("attr", "attribute", { placeholder: "key:value" }), since(), submit()],
      load: loadTraces,
      polls: true,
    },
    logs: {
      title: "Structured logs",
      form: () => [field("q", "text"), choice("severity", "severity (and above)", [["", "any"], ["debug", "debug"], ["info", "info"], ["warn", "warn"], ["error", "error"], ["fatal", "fatal"]]),
        field("component", "component / logger"), field("trace_id", "trace id"), since(), submit()],
      load: loadLogs,
      polls: true,
    },
    metrics: {
      title: "Metrics",
      form: () => [since(), h("input", { attrs: { type: "hidden", name: "name" } }), submit()],
      load: loadMetrics,
      polls: true,
    },
    sql: {
      title: "SQL",
      form: () => [h("label", { className: "wide" }, "one read-only SELECT over the store's views (spans, requests, logs, metrics, events, …)",
        h("textarea", { attrs: { name: "q", spellcheck: "false", placeholder: "SELECT name, count(*) FROM spans GROUP BY name ORDER BY 2 DESC" } })), submit("Run")],
      load: loadSql,
      polls: false,
    },
  };
  const current = PAGES[page];

  /* ---------- URL state ---------- */

  function params() { return new URLSearchParams(location.search); }

  function fillForm() {
    const query = params();
    for (const input of $("filters").elements) {
      if (!input.name) continue;
      input.value = query.get(input.name) || (input.name === "since" ? "1h" : "");
    }
  }

  function navigate(changes, replace) {
    const query = params();
    for (const [k, v] of Object.entries(changes)) {
      if (v === "" || v === null || v === undefined) query.delete(k); else query.set(k, v);
    }
    if (query.get("since") === "1h") query.delete("since");
    const base = page === "traces" ? "/traces" : location.pathname;
    const url = base + (query.toString() ? `?${query}` : "");
    if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
    reload();
  }

  function fromForm() {
    const changes = { offset: "" };
    for (const input of $("filters").elements) if (input.name) changes[input.name] = input.value.trim();
    return changes;
  }

  async function reload() {
    clearTimeout(timer);
    fillForm();
    const banner = $("banner");
    try {
      await current.load();
      banner.hidden = true;
      $("live").className = "live on";
      $("live").querySelector(".live-text").textContent = `live · updated ${clock(new Date().toISOString())}`;
    } catch (error) {
      banner.hidden = false;
      banner.className = "banner";
      banner.textContent = error.message;
      $("live").className = "live off";
    }
    document.body.dataset.loads = String(++loads); // how many times the page has drawn its data
    if (current.polls) timer = setTimeout(() => (document.hidden ? null : reload()), REFRESH);
  }

  function apiQuery(names) {
    const query = params();
    const out = new URLSearchParams();
    for (const name of names) if (query.get(name)) out.set(name, query.get(name));
    return out.toString();
  }

  function table(headers, rows) {
    return h("div", { className: "table-wrap" }, h("table", { className: "results" },
      h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { text: t })))), h("tbody", {}, ...rows)));
  }

  function pager(data) {
    const box = $("pager");
    box.replaceChildren();
    if (data.offset > 0) box.append(h("button", { type: "button", text: "← newer", dataset: { testid: "newer" }, on: { click: () => navigate({ offset: Math.max(0, data.offset - data.limit) || "" }) } }));
    if (data.offset + data.limit < data.matching) box.append(h("button", { type: "button", text: "older →", dataset: { testid: "older" }, on: { click: () => navigate({ offset: data.offset + data.limit }) } }));
  }

  function summary(data, noun) {
    const shown = data.matching ? `${data.offset + 1}–${data.offset + (data[noun] || []).length} of ${data.matching.toLocaleString()}` : "none";
    $("results-summary").textContent = `${shown} ${noun} since ${clock(data.since)}`;
  }

  /* ---------- traces ---------- */

  async function loadTraces() {
    const traceId = location.pathname.split("/")[2];
    $("filters").hidden = Boolean(traceId);
    $("results-card").hidden = Boolean(traceId);
    if (traceId) return openTrace(traceId);
    $("trace-card").hidden = true;
    const data = await getJSON("/api/explore/traces?" + apiQuery(["service", "name", "status", "min_ms", "attr", "since", "offset"]));
    summary(data, "traces");
    pager(data);
    if (!data.traces.length) {
      $("results").replaceChildren(h("div", { className: "empty", text: "No trace matches these filters in this window." }));
      return;
    }
    $("results").replaceChildren(table(["start", "root span", "service", "duration", "spans", "errors"], data.traces.map((t) =>
      h("tr", { className: t.errors ? "error" : "", dataset: { testid: "trace-result", traceId: t.trace_id } },
        h("td", { text: clock(t.start), title: t.start }),
        h("td", {}, link(traceHref(t.trace_id, t.start), t.root_name || "(no root)", "trace-link")),
        h("td", { text: t.services.join(", ") }),
        h("td", { text: fmt(t.duration_ms, "ms") }),
        h("td", { text: String(t.spans) }),
        h("td", { text: t.errors ? String(t.errors) : "–" })))));
  }

  async function openTrace(traceId) {
    $("trace-links").replaceChildren(link("/traces", "← all traces", "back-to-traces"), " · ", link(`/logs?trace_id=${traceId}`, "its logs", "trace-logs"));
    const panels = window.FFPanels({ openOp: null });
    await panels.loadTrace(traceId, params().get("at") || "");
  }

  /* ---------- logs ---------- */

  async function loadLogs() {
    const data = await getJSON("/api/explore/logs?" + apiQuery(["q", "severity", "component", "trace_id", "since", "offset"]));
    summary(data, "logs");
    pager(data);
    if (!data.logs.length) {
      $("results").replaceChildren(h("div", { className: "empty", text: "No log record matches these filters in this window." }));
      return;
    }
    const open = new Set([...document.querySelectorAll(".log-row[open]")].map((n) => n.dataset.key));
    $("results").replaceChildren(...data.logs.map((log) => {
      const key = `${log.timestamp}|${log.span_id}`;
      const dl = h("dl", {});
      for (const [k, v] of Object.entries({ service: log.service, span_id: log.span_id, ...log.attributes })) {
        if (v !== null && v !== undefined) dl.append(h("dt", { text: k }), h("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) }));
      }
      const body = typeof log.body === "string" ? log.body : JSON.stringify(log.body);
      const row = h("details", { className: "log-row", dataset: { testid: "log-row", key, severity: log.severity || "" } },
        h("summary", {}, h("span", { text: clock(log.timestamp), title: log.timestamp }),
          h("span", { className: `sev sev-${log.severity}`, text: log.severity || "" }),
          h("span", { className: "muted", text: log.component || "" }),
          h("span", { className: "body", text: body }),
          log.trace_id ? link(traceHref(log.trace_id, log.timestamp), "trace", "log-trace") : h("span", {})),
        dl);
      if (open.has(key)) row.open = true;
      return row;
    }));
  }

  /* ---------- metrics ---------- */

  async function loadMetrics() {
    const selected = params().get("name") || "";
    const data = await getJSON("/api/explore/metrics?" + apiQuery(["name", "since"]));
    $("results-summary").textContent = `${data.instruments.length} instruments since ${clock(data.since)}`;
    const groups = new Map();
    for (const inst of data.instruments) {
      const group = inst.name.startsWith("system.") ? "system" : inst.name.startsWith("process.") ? "process" : "application";
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(inst);
    }
    const list = h("div", { className: "instruments", dataset: { testid: "instruments" } });
    for (const group of ["application", "process", "system"]) {
      if (!groups.has(group)) continue;
      list.append(h("h3", { text: group }));
      for (const inst of groups.get(group)) {
        const a = link(`/metrics?name=${encodeURIComponent(inst.name)}` + (params().get("since") ? `&since=${params().get("since")}` : ""), inst.name, "instrument");
        a.dataset.name = inst.name;
        a.title = `${inst.type} · ${inst.series} series · ${inst.description || ""}`;
        if (inst.name === selected) a.setAttribute("aria-current", "true");
        a.addEventListener("click", (event) => { event.preventDefault(); navigate({ name: inst.name }); });
        list.append(a);
      }
    }
    const parts = [list];
    if (!data.instruments.length) parts.push(h("div", { className: "empty", text: "No metric data points in this window." }));
    if (selected && !data.selected) parts.push(h("div", { className: "empty", text: `No data points of ${selected} in this window.` }));
    if (data.selected) parts.push(...instrumentView(data.selected, data));
    $("results").replaceChildren(...parts);
    if (data.selected) drawInstrument(data.selected, data);
  }

  function instrumentView(inst) {
    const more = inst.series_left_out ? ` · ${inst.series_left_out} more series left out` : "";
    return [h("h3", { text: `${inst.name}${inst.unit ? ` (${inst.unit})` : ""} — ${inst.shown_as}`, dataset: { testid: "instrument-title" } }),
      h("div", { className: "muted small", text: `${inst.description || ""} · ${inst.series.length} series · ${inst.bucket_seconds} s buckets${more}` }),
      h("div", { className: "chart", attrs: { id: "metric-chart" }, dataset: { testid: "metric-chart" } })];
  }

  function drawInstrument(inst, data) {
    const series = [];
    for (const s of inst.series) {
      for (const [line, points] of Object.entries(s)) {
        if (line === "name" || line === "attributes") continue;
        series.push({ name: inst.series.length > 1 || line !== "value" ? `${s.name} ${line}` : s.name, points, color: window.FFDom.colorOf(`${s.name} ${line}`) });
      }
    }
    const unit = inst.shown_as.startsWith("rate") ? "/s" : inst.unit;
    window.FFCharts.line($("metric-chart"), { start: inst.start, end: Date.now(), step: inst.bucket_seconds, series, axes: { left: { unit } }, label: inst.name, legend: true, height: 260 });
  }

  /* ---------- SQL ---------- */

  async function loadSql() {
    const q = params().get("q") || "";
    $("pager").replaceChildren();
    if (!q) {
      $("results-summary").textContent = "";
      $("results").replaceChildren(h("div", { className: "empty", text: "Write a query and run it; its URL is a bookmark." }));
      return;
    }
    $("results").replaceChildren(h("div", { className: "empty", text: "Running…" }));
    let data;
    try {
      data = await postJSON("/api/sql", { q });
    } catch (error) {
      $("results-summary").textContent = "";
      $("results").replaceChildren(h("div", { className: "sql-error", dataset: { testid: "sql-error" }, text: error.message }));
      return;
    }
    lastSql = data;
    const more = data.truncated ? ` (only the first ${data.max_rows.toLocaleString()})` : "";
    $("results-summary").textContent = `${data.rows.length.toLocaleString()} rows${more} · ${fmt(data.elapsed_ms, "ms")}`;
    const downloads = h("div", { className: "pager" },
      h("button", { type: "button", text: "Download CSV", dataset: { testid: "download-csv" }, on: { click: () => download("csv") } }),
      h("button", { type: "button", text: "Download JSON", dataset: { testid: "download-json" }, on: { click: () => download("json") } }));
    const parts = [downloads];
    const numeric = data.columns.map((c, i) => [c, i]).filter(([c]) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/.test(c.type));
    if (data.time_column && numeric.length && data.rows.length) parts.push(h("div", { className: "chart", attrs: { id: "sql-chart" }, dataset: { testid: "sql-chart" } }));
    parts.push(table(data.columns.map((c) => c.name), data.rows.map((row) => h("tr", { dataset: { testid: "sql-row" } },
      ...row.map((v) => h("td", { text: v === null ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v) }))))));
    $("results").replaceChildren(...parts);
    if ($("sql-chart")) {
      const t = data.columns.findIndex((c) => c.name === data.time_column);
      const times = data.rows.map((r) => Date.parse(r[t]));
      const series = numeric.map(([c, i]) => ({ name: c.name, color: window.FFDom.colorOf(c.name),
        points: data.rows.map((r, n) => [times[n], r[i]]).filter((p) => !Number.isNaN(p[0])).sort((a, b) => a[0] - b[0]) }));
      window.FFCharts.line($("sql-chart"), { start: Math.min(...times), end: Math.max(...times), series, label: "query result", legend: true });
    }
  }

  function download(kind) {
    if (!lastSql) return;
    const names = lastSql.columns.map((c) => c.name);
    let text;
    if (kind === "json") {
      text = JSON.stringify(lastSql.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]]))), null, 2);
    } else {
      const cell = (v) => {
        const s = v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
        return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      };
      text = [names.map(cell).join(","), ...lastSql.rows.map((row) => row.map(cell).join(","))].join("\r\n") + "\r\n";
    }
    const url = URL.createObjectURL(new Blob([text], { type: kind === "json" ? "application/json" : "text/csv" }));
    const a = h("a", { attrs: { href: url, download: `ff-otel-query.${kind}` } });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  /* ---------- start ---------- */

  document.title = `ff-otel · ${current.title}`;
  $("page-title").textContent = "· " + current.title;
  $("results-title").textContent = current.title;
  const nav = document.querySelector(`[data-nav="${page}"]`);
  if (nav) nav.setAttribute("aria-current", "page");
  $("filters").replaceChildren(...current.form());
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(fromForm());
  });
  window.addEventListener("popstate", reload);
  document.addEventListener("visibilitychange", () => { if (!document.hidden && current.polls) reload(); });
  reload();
})();
