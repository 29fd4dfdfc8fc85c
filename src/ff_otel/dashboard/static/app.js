/* ff-otel dashboard: the page's state, its refresh timers, the status panels (overview,
 * health, alerts with their actions) and the charts; panels.js draws the rest.
 *
 * Every panel refreshes on its own timer (paused while the tab is hidden).
 */
"use strict";

(function () {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const REFRESH = Math.max(1000, (Number(meta("refresh-seconds")) || 5) * 1000);
  const SEVERITY_ORDER = { unhealthy: 0, degraded: 1, unknown: 2, healthy: 3 };
  const RANGE_LABEL = { "1h": "last hour", "6h": "last 6 hours", "24h": "last 24 hours", "7d": "last 7 days" };
  const fmt = window.FFCharts.formatNumber;

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
  const { $, h, ago, clock, getJSON, postJSON, toast, colorOf } = window.FFDom;
  const { loadOperations, loadTrace, loadErrors, loadBI, loadCompliance } = window.FFPanels(state);

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
      pill.textContent = data.per_host ? "fleet" : "no health yet";
      // Over the fleet's ClickHouse, health is per host: the answer says so.
      const why = data.per_host ? `Health checks are ${data.per_host.health}.` : "No health record yet: is a service with ff-otel configured on this store?";
      $("health").replaceChildren(h("div", { className: "empty", dataset: { testid: "per-host" }, text: why }));
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
      $("kpis").replaceChildren(kpi("Requests", "–", ""), kpi("p95 latency", "–", ""), kpi("Failed requests", "–", ""), kpi("CPU", "–", ""), kpi("Memory", "–", ""));
      return;
    }
    const thresholds = (series && series.thresholds) || {};
    const errorRate = 100 - (s.success_rate_percent ?? 100);
    // Every card is the last interval's snapshot: its window is in the label.
    const lastInterval = ` · last ${fmt(s.collection_period_seconds ?? 0)} s`;
    const p95 = s.response_time_ms;
    const req = series ? series.requests : {};
    const res = series ? series.resources : {};
    $("kpis").replaceChildren(
      kpi("Requests" + lastInterval, fmt(s.throughput_requests_per_second), "/s", req.rate, "#2563eb"),
      kpi("p95 latency" + lastInterval, s.throughput_requests_per_second ? fmt(p95, "ms") : "–", s.throughput_requests_per_second ? "" : "no requests", req.p95, "#7c3aed", thresholds.latency_ms && p95 > thresholds.latency_ms ? "bad" : ""),
      kpi("Failed requests" + lastInterval, s.throughput_requests_per_second ? fmt(errorRate) : "–", s.throughput_requests_per_second ? "% of requests" : "no requests", req.error_rate, "#dc2626", s.throughput_requests_per_second && errorRate > (thresholds.error_rate_percent || 5) ? "bad" : ""),
      kpi("Host CPU" + lastInterval, fmt(s.cpu_usage_percent), "%", res.cpu, "#0891b2", s.cpu_usage_percent > 90 ? "warn" : ""),
      kpi("Host memory · now", fmt(s.memory_usage_percent), "%", res.memory, "#d97706", thresholds.memory_percent && s.memory_usage_percent > thresholds.memory_percent ? "warn" : ""),
      kpi("Open sessions · now", fmt(s.active_sessions ?? 0), s.concurrent_users !== null && s.concurrent_users !== undefined ? ` · ${s.concurrent_users} users` : ""),
      kpi("Reliability" + lastInterval, fmt((s.system_reliability_score ?? 0) * 100), "%"));
  }

  /* ---------- alerts ---------- */

  async function loadAlerts() {
    const data = await getJSON("/api/alerts");
    const acknowledged = data.firing.filter((a) => a.acknowledged).length;
    $("alerts-summary").textContent = `${data.firing.length} firing (${acknowledged} acknowledged) · ${data.pending.length} pending · ${data.suppressed.length} suppressed · ${data.resolved.length} resolved in 24 h · ${data.silences.length} silences`;
    if (state.openForm && document.body.contains(state.openForm)) return; // keep what the operator is typing
    const box = $("alerts");
    const nodes = [];
    if (!data.firing.length) nodes.push(h("div", { className: "empty", text: "✓ No alert is firing." }));
    for (const alert of data.firing) nodes.push(alertCard(alert));
    if (data.pending.length) {
      nodes.push(h("h3", { text: "Pending (not yet held long enough to fire)" }));
      nodes.push(h("div", { className: "resolved-list" }, ...data.pending.map((a) => h("div", { dataset: { alertId: a.alert_id, state: a.state }, text: `${a.title} — ${a.message || ""}` }))));
    }
    if (data.suppressed.length) {
      nodes.push(h("h3", { text: "Suppressed (would fire; max alerts per hour reached, not notified)" }));
      nodes.push(h("div", { className: "resolved-list" }, ...data.suppressed.map((a) => h("div", { dataset: { alertId: a.alert_id, state: a.state }, text: `${a.title} — ${a.message || ""}` }))));
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
        dataset: { alertId: a.alert_id, state: a.state },
        text: `${clock(a.timestamp)} · ${a.title}${a.resolution_notes ? " — " + a.resolution_notes : ""}`,
      }))));
    }
    box.replaceChildren(...nodes);
  }

  function alertCard(alert) {
    const value = alert.current_value !== null && alert.current_value !== undefined
      ? `${fmt(alert.current_value)} (threshold ${fmt(alert.threshold_value)})` : "";
    const card = h("article", { className: `alert sev-${alert.severity}` + (alert.acknowledged ? " is-acknowledged" : ""), dataset: { alertId: alert.alert_id, state: alert.state, acknowledged: alert.acknowledged ? "true" : "false" } },
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
    if (data.per_host) {
      $("chart-resources").replaceChildren(h("div", { className: "empty", dataset: { testid: "per-host" }, text: `CPU and memory readings are ${data.per_host.resources}.` }));
      renderKpis();
      return undefined;
    }
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
