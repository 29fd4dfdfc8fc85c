/* ff-otel dashboard: polls the JSON endpoints and renders each panel.
 *
 * Every panel refreshes on its own timer (paused while the tab is hidden).
 * Text from the store is only ever set as textContent, never parsed as HTML.
 * Mutating requests carry the page's CSRF token in X-CSRF-Token.
 */
"use strict";

(function () {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const CSRF = meta("csrf-token");
  const REFRESH = Math.max(1000, (Number(meta("refresh-seconds")) || 5) * 1000);
  const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569", "#dc2626"];
  const SEVERITY_ORDER = { unhealthy: 0, degraded: 1, unknown: 2, healthy: 3 };
  const RANGE_LABEL = { "1h": "last hour", "6h": "last 6 hours", "24h": "last 24 hours", "7d": "last 7 days" };
  const fmt = window.FFCharts.formatNumber;
  const $ = (id) => document.getElementById(id);

  const state = {
    range: localStorage.getItem("ff-otel-range") || "1h",
    biPeriod: localStorage.getItem("ff-otel-bi-period") || "week",
    series: null,
    overview: null,
    lastOk: 0,
    failing: false,
    openOp: null,
    openForm: null,
    timers: {},
  };
  if (!RANGE_LABEL[state.range]) state.range = "1h";
  const colors = new Map();

  function colorOf(name) {
    if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
    return colors.get(name);
  }

  /* h("div", {className, text, dataset, on: {click}}, ...children) */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    const p = props || {};
    if (p.className) node.className = p.className;
    if (p.text !== undefined && p.text !== null) node.textContent = String(p.text);
    if (p.title) node.title = p.title;
    if (p.type) node.type = p.type;
    for (const [k, v] of Object.entries(p.dataset || {})) node.dataset[k] = v;
    for (const [k, v] of Object.entries(p.attrs || {})) node.setAttribute(k, v);
    for (const [k, v] of Object.entries(p.on || {})) node.addEventListener(k, v);
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function ago(iso) {
    if (!iso) return "never";
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 60) return `${Math.round(seconds)} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h ago`;
    return `${(seconds / 86400).toFixed(1)} d ago`;
  }

  function clock(iso) {
    return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
  }

  async function getJSON(path) {
    const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  async function postJSON(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    return answer;
  }

  function toast(message, bad) {
    const node = h("div", { className: "toast" + (bad ? " bad" : ""), text: message });
    $("toasts").appendChild(node);
    setTimeout(() => node.remove(), bad ? 7000 : 4000);
  }

  /* ---------- scheduling ---------- */

  const panels = {
    overview: { every: REFRESH, load: loadOverview },
    alerts: { every: REFRESH, load: loadAlerts },
    series: { every: 3 * REFRESH, load: loadSeries },
    operations: { every: 2 * REFRESH, load: loadOperations },
    errors: { every: 2 * REFRESH, load: loadErrors },
    bi: { every: 12 * REFRESH, load: loadBI },
    compliance: { every: 6 * REFRESH, load: loadCompliance },
  };

  function schedule(name, delay) {
    clearTimeout(state.timers[name]);
    state.timers[name] = setTimeout(() => refresh(name), delay);
  }

  async function refresh(name) {
    const panel = panels[name];
    if (document.hidden) {
      schedule(name, panel.every);
      return;
    }
    let next = panel.every;
    try {
      const sooner = await panel.load();
      if (typeof sooner === "number") next = sooner;
      state.lastOk = Date.now();
      if (state.failing) {
        state.failing = false;
        showBanner(null);
      }
    } catch (error) {
      state.failing = true;
      showBanner(`Cannot reach the dashboard (${error.message}); retrying.`);
      next = Math.min(panel.every, 5000);
    }
    updateLive();
    schedule(name, next);
  }

  function refreshAll() {
    for (const name of Object.keys(panels)) schedule(name, 0);
  }

  function showBanner(text, warn) {
    const banner = $("banner");
    banner.hidden = !text;
    banner.textContent = text || "";
    banner.className = "banner" + (warn ? " warn" : "");
  }

  function updateLive() {
    const live = $("live");
    const text = live.querySelector(".live-text");
    if (state.failing) {
      live.className = "live off";
      text.textContent = "offline · retrying";
    } else if (state.lastOk) {
      live.className = "live on";
      text.textContent = `live · updated ${Math.round((Date.now() - state.lastOk) / 1000)} s ago`;
    }
  }

  /* ---------- overview: status, key figures, health ---------- */

  async function loadOverview() {
    const data = await getJSON("/api/overview");
    state.overview = data;
    $("service-name").textContent = data.service ? "· " + data.service : "";
    const health = data.health;
    const pill = $("overall-status");
    if (!health) {
      pill.className = "pill status-unknown";
      pill.textContent = "no health yet";
      $("health").replaceChildren(h("div", { className: "empty", text: "No health record yet: is a service with ff-otel configured on this store?" }));
      $("health-when").textContent = "";
    } else {
      const status = health.stale ? "stale" : health.status;
      pill.className = `pill status-${status}`;
      pill.textContent = health.stale ? `${health.status} · stale` : health.status;
      pill.title = `checked ${ago(health.checked_at)}`;
      $("health-when").textContent = `checked ${ago(health.checked_at)}`;
      const components = [...health.components].sort(
        (a, b) => (SEVERITY_ORDER[a.status] ?? 2) - (SEVERITY_ORDER[b.status] ?? 2) || String(a.name).localeCompare(String(b.name)));
      $("health").replaceChildren(...components.map((c) => h("div", { className: `component ${c.status}`, dataset: { component: c.name, status: c.status } },
        h("span", { className: "led", title: c.status }),
        h("div", {}, h("div", { className: "name", text: c.name }), h("div", { className: "detail", text: c.detail || "" })),
        h("span", { className: `pill status-${c.status}`, text: c.status }))));
      if (health.stale) {
        showBanner(`No collector has written to this store for ${ago(health.checked_at).replace(" ago", "")}: the figures are as of ${new Date(health.checked_at).toLocaleString()}.`, true);
      } else if (!state.failing) {
        showBanner(null);
      }
    }
    renderKpis();
  }

  function renderKpis() {
    const s = state.overview && state.overview.snapshot;
    const series = state.series;
    const kpi = (label, value, unit, spark, color, level) => {
      const sparkBox = h("div", { className: "spark" });
      if (spark) window.FFCharts.spark(sparkBox, spark, color);
      return h("div", { className: "kpi" + (level ? " " + level : "") },
        h("div", { className: "label", text: label }),
        h("div", { className: "value" }, value, unit ? h("small", { text: unit }) : null),
        sparkBox);
    };
    if (!s) {
      $("kpis").replaceChildren(kpi("Requests", "–", ""), kpi("p95 latency", "–", ""), kpi("Error rate", "–", ""), kpi("CPU", "–", ""), kpi("Memory", "–", ""));
      return;
    }
    const thresholds = (series && series.thresholds) || {};
    const errorRate = 100 - (s.success_rate_percent ?? 100);
    const p95 = s.response_time_ms;
    const req = series ? series.requests : {};
    const res = series ? series.resources : {};
    $("kpis").replaceChildren(
      kpi("Requests", fmt(s.throughput_requests_per_second), "/s", req.rate, "#2563eb"),
      kpi("p95 latency", s.throughput_requests_per_second ? fmt(p95, "ms") : "–", s.throughput_requests_per_second ? "" : "no requests", req.p95, "#7c3aed", thresholds.latency_ms && p95 > thresholds.latency_ms ? "bad" : ""),
      kpi("Error rate", fmt(errorRate), "%", req.error_rate, "#dc2626", errorRate > (thresholds.error_rate_percent || 5) ? "bad" : ""),
      kpi("CPU", fmt(s.cpu_usage_percent), "%", res.cpu, "#0891b2", s.cpu_usage_percent > 90 ? "warn" : ""),
      kpi("Memory", fmt(s.memory_usage_percent), "%", res.memory, "#d97706", thresholds.memory_percent && s.memory_usage_percent > thresholds.memory_percent ? "warn" : ""),
      kpi("Active sessions", fmt(s.active_sessions ?? 0), s.concurrent_users !== null && s.concurrent_users !== undefined ? ` · ${s.concurrent_users} users` : ""),
      kpi("Reliability", fmt((s.system_reliability_score ?? 0) * 100), "%"));
  }

  /* ---------- alerts ---------- */

  async function loadAlerts() {
    const data = await getJSON("/api/alerts");
    const acknowledged = data.firing.filter((a) => a.acknowledged).length;
    $("alerts-summary").textContent = `${data.firing.length} firing (${acknowledged} acknowledged) · ${data.pending.length} pending · ${data.resolved.length} resolved in 24 h · ${data.silences.length} silences`;
    if (state.openForm && document.body.contains(state.openForm)) return; // keep what the operator is typing
    const box = $("alerts");
    const nodes = [];
    if (!data.firing.length) nodes.push(h("div", { className: "empty", text: "✓ No alert is firing." }));
    for (const alert of data.firing) nodes.push(alertCard(alert));
    if (data.pending.length) {
      nodes.push(h("h3", { text: "Pending (not yet held long enough to fire)" }));
      nodes.push(h("div", { className: "resolved-list" }, ...data.pending.map((a) => h("div", { text: `${a.title} — ${a.message || ""}` }))));
    }
    if (data.silences.length) {
      nodes.push(h("h3", { text: "Silences in force" }));
      nodes.push(h("div", { className: "resolved-list" }, ...data.silences.map((s) => h("div", {
        text: `${Object.entries(s.matchers).map(([k, v]) => `${k}=${v}`).join(" ")} until ${new Date(s.ends_at).toLocaleString()} by ${s.created_by}${s.comment ? " — " + s.comment : ""}`,
      }))));
    }
    if (data.resolved.length) {
      nodes.push(h("h3", { text: "Resolved in the last 24 h" }));
      nodes.push(h("div", { className: "resolved-list" }, ...data.resolved.slice(0, 8).map((a) => h("div", {
        dataset: { alertId: a.alert_id, state: "resolved" },
        text: `${clock(a.timestamp)} · ${a.title}${a.resolution_notes ? " — " + a.resolution_notes : ""}`,
      }))));
    }
    box.replaceChildren(...nodes);
  }

  function alertCard(alert) {
    const status = alert.acknowledged ? "acknowledged" : "firing";
    const value = alert.current_value !== null && alert.current_value !== undefined
      ? `${fmt(alert.current_value)} (threshold ${fmt(alert.threshold_value)})` : "";
    const card = h("article", { className: `alert sev-${alert.severity}` + (alert.acknowledged ? " is-acknowledged" : ""), dataset: { alertId: alert.alert_id, state: status } },
      h("div", { className: "row" },
        h("span", { className: `pill status-${alert.severity}`, text: alert.severity }),
        h("span", { className: "title", text: alert.title }),
        alert.acknowledged ? h("span", { className: "pill status-acknowledged", dataset: { testid: "acknowledged" }, text: `acknowledged${alert.assigned_to ? " by " + alert.assigned_to : ""}` }) : null,
        alert.escalated ? h("span", { className: "pill status-critical", text: "escalated" }) : null,
        h("span", { className: "muted small", text: `fired ${ago(alert.fired_at || alert.timestamp)}` })),
      h("div", { className: "message", text: [alert.message, value].filter(Boolean).join(" · ") }),
      (alert.recommended_actions || []).length ? h("div", { className: "muted small", text: "→ " + alert.recommended_actions.join("; ") }) : null);
    const actions = h("div", { className: "actions" });
    const ack = h("button", { className: "btn", type: "button", dataset: { action: "acknowledge" }, text: alert.acknowledged ? "Acknowledged" : "Acknowledge" });
    ack.disabled = !!alert.acknowledged;
    ack.addEventListener("click", () => act(ack, `/api/alerts/${encodeURIComponent(alert.alert_id)}/acknowledge`, {}, `Acknowledged: ${alert.title}`));
    const resolve = h("button", { className: "btn", type: "button", dataset: { action: "resolve" }, text: "Resolve…" });
    resolve.addEventListener("click", () => openForm(card, alert, "resolve"));
    const silence = h("button", { className: "btn", type: "button", dataset: { action: "silence" }, text: "Silence…" });
    silence.addEventListener("click", () => openForm(card, alert, "silence"));
    actions.append(ack, resolve, silence);
    card.appendChild(actions);
    return card;
  }

  function openForm(card, alert, kind) {
    if (state.openForm) state.openForm.remove();
    const form = h("form", { dataset: { form: kind } });
    const cancel = h("button", { className: "btn", type: "button", text: "Cancel" });
    cancel.addEventListener("click", () => closeForm());
    if (kind === "resolve") {
      const notes = h("input", { attrs: { name: "notes", placeholder: "what fixed it (optional)", maxlength: "500" } });
      const submit = h("button", { className: "btn primary", type: "submit", text: "Resolve" });
      form.append(notes, submit, cancel);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        act(submit, `/api/alerts/${encodeURIComponent(alert.alert_id)}/resolve`, { notes: notes.value }, `Resolved: ${alert.title}`).then(closeForm);
      });
    } else {
      const labels = alert.labels || {};
      const matchers = { rule: labels.rule || alert.rule };
      if (labels.component) matchers.component = labels.component;
      const duration = h("select", { attrs: { name: "duration" } },
        ...[["15 min", 15], ["1 hour", 60], ["4 hours", 240], ["24 hours", 1440]].map(([label, minutes]) => h("option", { text: label, attrs: { value: String(minutes) } })));
      duration.value = "60";
      const comment = h("input", { attrs: { name: "comment", placeholder: "why (optional)", maxlength: "500" } });
      const submit = h("button", { className: "btn primary", type: "submit", text: "Silence" });
      form.append(h("span", { className: "muted small", text: Object.entries(matchers).map(([k, v]) => `${k}=${v}`).join(" ") }), duration, comment, submit, cancel);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        act(submit, "/api/silences", { matchers, duration_minutes: Number(duration.value), comment: comment.value }, `Silenced ${alert.title} for ${duration.selectedOptions[0].text}`).then(closeForm);
      });
    }
    card.appendChild(form);
    state.openForm = form;
    const first = form.querySelector("input, select");
    if (first) first.focus();
  }

  function closeForm() {
    if (state.openForm) state.openForm.remove();
    state.openForm = null;
    schedule("alerts", 0);
  }

  async function act(button, path, body, done) {
    button.disabled = true;
    try {
      await postJSON(path, { ...body, by: $("operator").value.trim() });
      toast(done);
    } catch (error) {
      toast(error.message, true);
      button.disabled = false;
      return;
    }
    schedule("alerts", 0);
    schedule("overview", 0);
  }

  /* ---------- charts ---------- */

  async function loadSeries() {
    const range = state.range;
    const data = await getJSON(`/api/series?range=${encodeURIComponent(range)}`);
    if (range !== state.range) return 0; // the operator picked another range meanwhile
    state.series = data;
    const start = data.start;
    const end = data.end;
    const step = data.step_seconds;
    const t = data.thresholds;
    const label = `${data.source} · ${RANGE_LABEL[range]}`;
    document.querySelectorAll("[data-source]").forEach((node) => { node.textContent = label; });
    const req = data.requests;
    const latency = [{ name: "p95", points: req.p95, color: "#7c3aed", kind: "area" }];
    if (req.p50) latency.push({ name: "p50", points: req.p50, color: "#16a34a" });
    if (req.p99) latency.push({ name: "p99", points: req.p99, color: "#db2777", thin: true });
    window.FFCharts.line($("chart-latency"), {
      start, end, step, series: latency, axes: { left: { unit: "ms", min: 0 } },
      thresholds: [{ value: t.latency_ms, label: `threshold ${fmt(t.latency_ms, "ms")}` }],
      label: "request latency", legend: true,
    });
    window.FFCharts.line($("chart-traffic"), {
      start, end, step,
      series: [
        { name: "requests/s", points: req.rate, color: "#2563eb", kind: "bars" },
        { name: "error rate", points: req.error_rate, color: "#dc2626", axis: "right" },
      ],
      axes: { left: { unit: "/s", min: 0 }, right: { unit: "%", min: 0, max: 100 } },
      thresholds: [{ value: t.error_rate_percent, axis: "right", label: `errors ${fmt(t.error_rate_percent)}%` }],
      label: "traffic and errors",
    });
    const components = Object.entries(data.components);
    window.FFCharts.line($("chart-components"), {
      start, end, step,
      series: components.map(([name, c]) => ({ name, points: c.p95, color: colorOf(name) })),
      axes: { left: { unit: "ms", min: 0 } },
      thresholds: [{ value: t.latency_ms, label: `threshold ${fmt(t.latency_ms, "ms")}` }],
      label: "p95 by component",
    });
    window.FFCharts.line($("chart-component-errors"), {
      start, end, step,
      series: components.map(([name, c]) => ({ name, points: c.error_rate, color: colorOf(name) })),
      axes: { left: { unit: "%", min: 0, max: 100 } },
      thresholds: [{ value: t.error_rate_percent, label: `threshold ${fmt(t.error_rate_percent)}%` }],
      label: "error rate by component",
    });
    const r = data.resources;
    window.FFCharts.line($("chart-resources"), {
      start, end, step,
      series: [
        { name: "CPU", points: r.cpu, color: "#0891b2", kind: "area" },
        { name: "memory", points: r.memory, color: "#d97706", kind: "area" },
        { name: "CPU peak", points: r.cpu_max, color: "#0891b2", thin: true },
        { name: "memory peak", points: r.memory_max, color: "#d97706", thin: true },
      ],
      axes: { left: { unit: "%", min: 0, max: 100 } },
      thresholds: [{ value: t.memory_percent, label: `memory ${fmt(t.memory_percent)}%` }],
      label: "CPU and memory",
    });
    renderKpis();
    return undefined;
  }

  /* ---------- slow operations and traces ---------- */

  async function loadOperations() {
    const data = await getJSON("/api/operations");
    $("operations-summary").textContent = data.spans
      ? `last hour · ${data.spans.toLocaleString()} spans since ${clock(data.covers_from)}`
      : "last hour";
    const box = $("operations");
    if (!data.operations.length) {
      box.replaceChildren(h("div", { className: "empty", text: "No spans in the last hour." }));
      return;
    }
    const slowest = Math.max(...data.operations.map((o) => o.p95_ms), 1e-9);
    const rows = [h("div", { className: "op head" },
      h("span", { text: "operation" }), h("span", { className: "latency-head", text: "p50 ▮ p95 (bar)" }),
      h("span", { className: "figure calls", text: "calls" }), h("span", { className: "figure", text: "errors" }),
      h("span", { className: "figure", text: "p95" }))];
    for (const op of data.operations) {
      const key = `${op.name}|${op.component}`;
      const p95 = h("div", { className: "latency-p95" });
      p95.style.width = `${(100 * op.p95_ms) / slowest}%`;
      const p50 = h("div", { className: "latency-p50" });
      p50.style.width = `${(100 * op.p50_ms) / slowest}%`;
      p50.style.opacity = "1";
      p95.style.opacity = "0.45";
      const row = h("div", { className: "op" + (state.openOp === key ? " open" : ""), dataset: { operation: op.name, testid: "operation" }, attrs: { role: "button", tabindex: "0" } },
        h("span", { className: "name", title: op.name }, op.name, h("span", { className: "component-tag", text: op.component })),
        h("div", { className: "latency-track", title: `p50 ${fmt(op.p50_ms, "ms")} · p95 ${fmt(op.p95_ms, "ms")} · max ${fmt(op.max_ms, "ms")}` }, p95, p50),
        h("span", { className: "figure calls", text: op.calls.toLocaleString() }),
        h("span", { className: "figure", text: op.errors ? op.errors.toLocaleString() : "–" }),
        h("span", { className: "figure", text: fmt(op.p95_ms, "ms") }));
      const toggle = () => {
        state.openOp = state.openOp === key ? null : key;
        loadOperations().catch(() => {});
      };
      row.addEventListener("click", toggle);
      row.addEventListener("keydown", (event) => { if (event.key === "Enter") toggle(); });
      rows.push(row);
      if (state.openOp === key) {
        const chips = h("div", { className: "op-traces" }, h("span", { className: "muted small", text: "slowest:" }));
        for (const call of op.slowest) chips.appendChild(traceChip(call));
        chips.appendChild(h("span", { className: "muted small", text: " latest:" }));
        for (const call of op.latest) chips.appendChild(traceChip(call));
        rows.push(chips);
      }
    }
    box.replaceChildren(...rows);
  }

  function traceChip(call) {
    const chip = h("button", { className: "chip" + (call.status === "error" ? " error" : ""), type: "button", dataset: { traceId: call.trace_id },
      text: `${fmt(call.duration_ms, "ms")} · ${clock(call.timestamp)}` });
    chip.addEventListener("click", (event) => {
      event.stopPropagation();
      loadTrace(call.trace_id, call.timestamp);
    });
    return chip;
  }

  async function loadTrace(traceId, at) {
    const card = $("trace-card");
    card.hidden = false;
    $("trace-id").textContent = traceId;
    const box = $("trace");
    box.replaceChildren(h("div", { className: "empty", text: "Loading the trace…" }));
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    let trace;
    try {
      trace = await getJSON(`/api/traces/${encodeURIComponent(traceId)}?at=${encodeURIComponent(at || "")}`);
    } catch (error) {
      box.replaceChildren(h("div", { className: "empty", text: error.message }));
      return;
    }
    const total = Math.max(trace.duration_ms, 1e-6);
    const ticks = h("div", { className: "ticks" }, ...[0, 0.25, 0.5, 0.75, 1].map((f) => h("span", { text: fmt(total * f, "ms") })));
    const rows = [h("div", { className: "wf-axis" }, h("span", { text: `${trace.spans.length} spans · ${trace.services.join(", ")} · ${new Date(trace.timestamp).toLocaleString()}` }), ticks, h("span", { text: "" }))];
    for (const span of trace.spans) {
      const bar = h("div", { className: "wf-bar" + (span.status === "error" ? " error" : "") });
      bar.style.left = `${(100 * span.offset_ms) / total}%`;
      bar.style.width = `${Math.max(0.3, (100 * span.duration_ms) / total)}%`;
      bar.style.background = span.status === "error" ? "" : colorOf(span.component || "span");
      const name = h("div", { className: "span-name", title: span.name }, span.name, h("span", { className: "component-tag", text: span.component || "" }));
      name.style.paddingLeft = `${span.depth * 14}px`;
      const row = h("div", { className: "wf-row", dataset: { testid: "trace-row", depth: String(span.depth), spanId: span.span_id } },
        name, h("div", { className: "wf-track" }, bar), h("div", { className: "dur", text: fmt(span.duration_ms, "ms") }));
      row.addEventListener("click", () => toggleSpanDetail(row, span));
      rows.push(row);
    }
    box.replaceChildren(...rows);
  }

  function toggleSpanDetail(row, span) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("wf-detail")) {
      next.remove();
      row.classList.remove("open");
      return;
    }
    row.classList.add("open");
    const dl = h("dl");
    const add = (k, v) => dl.append(h("dt", { text: k }), h("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) }));
    add("kind", span.kind);
    add("status", span.status + (span.status_message ? ` — ${span.status_message}` : ""));
    add("starts at", `+${fmt(span.offset_ms, "ms")}`);
    for (const [k, v] of Object.entries(span.attributes)) add(k, v);
    for (const event of span.events) add(`event ${event.name}`, event.attributes);
    row.after(h("div", { className: "wf-detail" }, dl));
  }

  /* ---------- errors ---------- */

  async function loadErrors() {
    const data = await getJSON("/api/errors");
    $("errors-summary").textContent = `${data.total.toLocaleString()} in the last hour`;
    const box = $("errors");
    if (!data.total) {
      box.replaceChildren(h("div", { className: "empty", text: "✓ No failed span or error log in the last hour." }));
      return;
    }
    const most = Math.max(...Object.values(data.by_component), 1);
    const bars = h("div", { className: "bars" }, ...Object.entries(data.by_component).map(([component, count]) => barRow(component, count / most, count.toLocaleString(), true)));
    const groups = h("div", { className: "error-groups" }, ...data.groups.map((g) => h("div", { className: "error-group" },
      h("div", { className: "head" },
        h("span", { className: "count", text: `${g.count}×` }),
        h("strong", { text: `${g.component} · ${g.operation}` }),
        h("span", { className: "muted small", text: `${g.error_type} · last ${ago(g.last_seen)}` }),
        g.trace_id ? h("button", { className: "link", type: "button", text: "trace →", on: { click: () => loadTrace(g.trace_id, g.last_seen) } }) : null),
      g.message ? h("div", { className: "msg", text: g.message }) : null)));
    box.replaceChildren(bars, groups);
  }

  function barRow(label, share, value, bad) {
    const fill = h("div", { className: "bar-fill" + (bad ? " bad" : "") });
    fill.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`;
    return h("div", { className: "bar-row" }, h("span", { className: "label", title: label, text: label }), h("div", { className: "bar-track" }, fill), h("span", { className: "value", text: value }));
  }

  /* ---------- BI ---------- */

  async function loadBI() {
    const period = state.biPeriod;
    const data = await getJSON(`/api/bi?period=${encodeURIComponent(period)}`);
    if (period !== state.biPeriod) return 0;
    const box = $("bi");
    if (data.status === "computing") {
      box.replaceChildren(h("div", { className: "empty", text: "Computing from the rollups…" }));
      return 1000;
    }
    if (data.status === "failed") {
      box.replaceChildren(h("div", { className: "empty", text: `Could not compute: ${data.error}` }));
      return undefined;
    }
    const st = data.stickiness || {};
    const tile = (label, value) => h("div", { className: "bi-kpi" }, h("div", { className: "label", text: label }), h("div", { className: "value", text: value }));
    const kpis = h("div", { className: "bi-kpis", dataset: { testid: "bi-kpis" } },
      tile("Active users", data.active_users.toLocaleString()),
      tile("New", data.new_users.toLocaleString()),
      tile("Returning", data.returning_users.toLocaleString()),
      tile("All users", data.total_users.toLocaleString()),
      tile("Daily active", (st.dau ?? 0).toLocaleString()),
      tile("Weekly active", (st.wau ?? 0).toLocaleString()),
      tile("Monthly active", (st.mau ?? 0).toLocaleString()),
      tile("DAU / MAU", st.mau ? `${fmt(100 * st.dau_over_mau)}%` : "–"),
      tile("Avg session", data.average_session_duration_minutes === null ? "–" : `${fmt(data.average_session_duration_minutes)} min`),
      tile("Growth", data.user_growth_rate_percent === null ? "–" : `${data.user_growth_rate_percent > 0 ? "+" : ""}${fmt(data.user_growth_rate_percent)}%`));
    const features = data.features.slice(0, 8);
    const featureBars = features.length
      ? h("div", { className: "bars" }, ...features.map((f) => barRow(f.feature, f.adoption_rate / 100, `${fmt(f.adoption_rate)}% · ${f.usage_count.toLocaleString()} uses`)))
      : h("div", { className: "empty", text: "No feature use in this period." });
    const lc = data.lifecycle || {};
    const parts = [["new", "#2563eb"], ["returning", "#16a34a"], ["resurrecting", "#d97706"], ["dormant", "#94a3b8"]];
    const totalLc = parts.reduce((sum, [k]) => sum + (lc[k] || 0), 0) || 1;
    const lifecycle = h("div", { className: "lifecycle", title: "user lifecycle" }, ...parts.map(([k, color]) => {
      const seg = h("span", { title: `${k}: ${lc[k] || 0}` });
      seg.style.width = `${(100 * (lc[k] || 0)) / totalLc}%`;
      seg.style.background = color;
      return seg;
    }));
    const lifecycleLegend = h("div", { className: "lifecycle-legend" }, ...parts.map(([k, color]) => {
      const swatch = h("i");
      swatch.style.background = color;
      return h("span", {}, swatch, `${k} ${lc[k] || 0}`);
    }));
    box.replaceChildren(kpis, h("div", { className: "bi-columns" },
      h("div", {}, h("h3", { text: "Feature adoption (share of active users)" }), featureBars),
      h("div", {}, h("h3", { text: "Lifecycle" }), lifecycle, lifecycleLegend,
        h("h3", { text: "Retention by weekly cohort" }), cohortTable(data.retention_cohorts))),
      h("div", { className: "muted small", text: `${data.window_start.slice(0, 16).replace("T", " ")} – ${data.window_end.slice(0, 16).replace("T", " ")} UTC · computed ${ago(data.computed_at)} in ${fmt(data.compute_seconds)} s` }));
    return undefined;
  }

  function cohortTable(cohorts) {
    if (!cohorts || !cohorts.length) return h("div", { className: "empty", text: "No cohort yet (users first seen in this window)." });
    const weeks = Math.max(...cohorts.map((c) => c.retained_percent.length));
    const head = h("tr", {}, h("th", { text: "first seen" }), h("th", { text: "users" }), ...Array.from({ length: weeks }, (_, i) => h("th", { text: `w${i}` })));
    const rows = cohorts.map((c) => h("tr", {}, h("th", { text: c.cohort_week }), h("td", { text: c.size.toLocaleString() }),
      ...Array.from({ length: weeks }, (_, i) => {
        const value = c.retained_percent[i];
        const cell = h("td", { text: value === undefined ? "" : `${Math.round(value)}%`, title: value === undefined ? "" : `${value}% of ${c.size}` });
        if (value !== undefined) {
          cell.style.background = `rgba(37, 99, 235, ${0.08 + 0.72 * (value / 100)})`;
          if (value > 55) cell.style.color = "#fff";
        }
        return cell;
      })));
    return h("table", { className: "cohorts" }, h("thead", {}, head), h("tbody", {}, ...rows));
  }

  /* ---------- compliance ---------- */

  async function loadCompliance() {
    const data = await getJSON("/api/compliance");
    const audit = data.audit_chain;
    const retention = data.retention;
    const check = (ok, what, why, testid) => h("div", { className: "check " + (ok === null ? "" : ok ? "ok" : "bad"), dataset: { testid } },
      h("span", { className: "mark", text: ok === null ? "…" : ok ? "✓" : "✗" }),
      h("div", {}, h("div", { className: "what", text: what }), ...[].concat(why).map((line) => h("div", { className: "why", text: line }))));
    const auditCheck = audit.status !== "ready"
      ? check(null, "Verifying the audit chain…", "", "audit-check")
      : audit.error
        ? check(false, "Audit chain could not be verified", audit.error, "audit-check")
        : check(audit.ok, audit.ok ? "Audit chain verified" : `Audit chain broken at record ${audit.first_bad_index}`,
          [`${audit.records.toLocaleString()} records${audit.sealed ? ", sealed" : ""}${audit.reason ? " · " + audit.reason : ""}`, `verified ${ago(audit.computed_at)} (${fmt(audit.compute_seconds)} s)`], "audit-check");
    const last = retention.last_run;
    const oldest = Object.entries(retention.oldest_days || {}).map(([k, v]) => `${k} ${fmt(v)} d`).join(", ");
    const retentionCheck = check(retention.in_force, retention.in_force ? "Retention in force" : "Retention not in force",
      [
        last ? `last run ${ago(last.timestamp)} (${last.outcome}); ${retention.runs_48h} runs, ${retention.deletions_48h} deletions in 48 h` : "no run recorded",
        oldest ? `oldest data: ${oldest} (as of ${ago(retention.oldest_as_of)})` : "",
        ...retention.problems,
      ].filter(Boolean), "retention-check");
    const policy = h("div", { className: "policy" }, ...Object.entries(retention.policy_days).map(([k, v]) => h("div", {}, h("b", { text: `${v} d` }), k)));
    const report = data.regulatory_report;
    const reportLine = report
      ? `Regulatory report ${ago(report.generated_at)} · ${Object.values(report.privacy_requests || {}).reduce((s, r) => s + r.count, 0)} privacy requests · ${(report.security_events || {}).total || 0} security events`
      : "No regulatory report yet (the collector writes one daily).";
    $("compliance").replaceChildren(h("div", { className: "checks" }, auditCheck, retentionCheck), policy, h("p", { className: "muted small", text: reportLine }));
    $("compliance-when").textContent = "retention per data class";
    return audit.status === "ready" ? undefined : 1000;
  }

  /* ---------- controls ---------- */

  function pressRange() {
    document.querySelectorAll("#range-picker button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.range === state.range)));
  }
  function pressPeriod() {
    document.querySelectorAll("#bi-picker button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.period === state.biPeriod)));
  }

  function init() {
    pressRange();
    pressPeriod();
    document.querySelectorAll("#range-picker button").forEach((button) => button.addEventListener("click", () => {
      state.range = button.dataset.range;
      localStorage.setItem("ff-otel-range", state.range);
      pressRange();
      schedule("series", 0);
    }));
    document.querySelectorAll("#bi-picker button").forEach((button) => button.addEventListener("click", () => {
      state.biPeriod = button.dataset.period;
      localStorage.setItem("ff-otel-bi-period", state.biPeriod);
      pressPeriod();
      $("bi").replaceChildren(h("div", { className: "empty", text: "Loading…" }));
      schedule("bi", 0);
    }));
    const operator = $("operator");
    operator.value = localStorage.getItem("ff-otel-operator") || "";
    operator.addEventListener("change", () => localStorage.setItem("ff-otel-operator", operator.value.trim()));
    $("trace-close").addEventListener("click", () => { $("trace-card").hidden = true; });
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshAll(); });
    setInterval(updateLive, 1000);
    renderKpis();
    refreshAll();
  }

  init();
})();
