/* ff-otel dashboard: the panels about what happened and who uses it — slow operations
 * and their traces, recent errors, users and features, compliance.
 *
 * FFPanels(state) returns each panel's loader; app.js schedules them.
 */
"use strict";

window.FFPanels = function (state) {
  const { $, h, ago, clock, getJSON, colorOf, barRow, fmt } = window.FFDom;

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
        chips.appendChild(explore(`/traces?name=${encodeURIComponent(op.name)}`, "all its traces →", "operation-traces"));
        rows.push(chips);
      }
    }
    box.replaceChildren(...rows);
  }

  /* A link into an explorer page (/traces, /logs, /metrics), its filters in the URL. */
  function explore(href, text, testid) {
    return h("a", { className: "explore-link small", text, attrs: { href }, dataset: { testid }, on: { click: (event) => event.stopPropagation() } });
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
    for (const event of span.events) {
      if (event.exception) {
        const ex = event.exception;
        const stack = ex.frames.map((f) => `${f.file}:${f.line} in ${f.function}` + (f.code ? `\n    ${f.code}` : "")).join("\n");
        const note = ex.frames_left_out ? `\n(${ex.frames_left_out} OpenTelemetry / ff-otel frames left out)` : "";
        dl.append(h("dt", { text: "exception" }), h("dd", {},
          h("div", { className: "exc-head", text: `${ex.type || "Exception"}: ${ex.message || ""}` }),
          h("pre", { className: "exc-stack", text: stack + note })));
        if (Object.keys(event.attributes).length) add(`event ${event.name}`, event.attributes);
      } else {
        add(`event ${event.name}`, event.attributes);
      }
    }
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
        g.trace_id ? h("button", { className: "link", type: "button", text: "trace →", on: { click: () => loadTrace(g.trace_id, g.last_seen) } }) : null,
        explore(g.trace_id ? `/logs?trace_id=${g.trace_id}` : `/logs?severity=warn&q=${encodeURIComponent(g.operation)}`, "logs →", "error-logs")),
      g.message ? h("div", { className: "msg", text: g.message }) : null)));
    box.replaceChildren(bars, groups);
  }

  /* ---------- BI ---------- */

  async function loadBI() {
    const period = state.biPeriod;
    const data = await getJSON(`/api/bi?period=${encodeURIComponent(period)}`);
    if (period !== state.biPeriod) return 0;
    const box = $("bi");
    if (data.status === "computing") {
      box.replaceChildren(h("div", { className: "empty", text: "Computing in SQL over the store…" }));
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

  return { loadOperations, loadTrace, loadErrors, loadBI, loadCompliance };
};
