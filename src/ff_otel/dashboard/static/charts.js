/* ff-otel dashboard charts: small hand-written SVG line, area and bar charts.
 *
 * FFCharts.line(element, options) draws time series with axes, gridlines,
 * thresholds, a legend that hides and shows series, and a crosshair tooltip;
 * it redraws itself when the element is resized. FFCharts.spark draws a bare
 * sparkline. Every series path carries data-series and data-points (how many
 * points it was drawn from), so a test can tie what is drawn to the data.
 */
"use strict";

window.FFCharts = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const MINUTE = 60000;
  const HOUR = 60 * MINUTE;
  const DAY = 24 * HOUR;
  const TIME_STEPS = [10000, 15000, 30000, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR,
    2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY];
  const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const resizer = typeof ResizeObserver === "function"
    ? new ResizeObserver((entries) => {
      for (const entry of entries) {
        const chart = entry.target.ffChart;
        if (chart && Math.abs(entry.contentRect.width - chart.width) > 2) draw(entry.target);
      }
    })
    : null;

  function el(tag, attrs, parent) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Round tick values: 1, 2, 2.5, 5 times a power of ten, covering [0, max]. */
  function niceTicks(low, high, count) {
    if (!(high > low)) high = low + 1;
    const raw = (high - low) / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
    const first = Math.floor(low / step) * step;
    const ticks = [];
    for (let v = first; v <= high + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
    return ticks;
  }

  function formatNumber(value, unit) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (unit === "ms") {
      if (value >= 10000) return (value / 1000).toFixed(0) + " s";
      if (value >= 1000) return (value / 1000).toFixed(1) + " s";
      if (value >= 100) return value.toFixed(0) + " ms";
      if (value >= 10) return value.toFixed(1) + " ms";
      return value.toFixed(2) + " ms";
    }
    const abs = Math.abs(value);
    let text;
    if (abs >= 1e6) text = (value / 1e6).toFixed(1) + "M";
    else if (abs >= 1e4) text = (value / 1e3).toFixed(0) + "k";
    else if (abs >= 100) text = value.toFixed(0);
    else if (abs >= 10) text = value.toFixed(1);
    else text = value.toFixed(2).replace(/\.?0+$/, "") || "0";
    return unit ? text + (unit === "%" ? "%" : " " + unit) : text;
  }

  function formatTime(ms, span) {
    const d = new Date(ms);
    const two = (n) => String(n).padStart(2, "0");
    const hm = two(d.getHours()) + ":" + two(d.getMinutes());
    if (span > 2 * DAY) return WEEKDAYS[d.getDay()] + " " + d.getDate() + (d.getHours() ? " " + hm : "");
    if (span <= 10 * MINUTE) return hm + ":" + two(d.getSeconds());
    return hm;
  }

  function timeTicks(start, end, width) {
    const span = end - start;
    const wanted = Math.max(2, Math.floor(width / 95));
    const step = TIME_STEPS.find((s) => span / s <= wanted) || TIME_STEPS[TIME_STEPS.length - 1];
    const offset = new Date(start).getTimezoneOffset() * MINUTE;
    const ticks = [];
    // Ticks on local round times (midnight, whole hours), not on the range's odd start.
    let t = Math.ceil((start - offset) / step) * step + offset;
    for (; t <= end; t += step) ticks.push(t);
    return ticks;
  }

  function extent(series, axis) {
    let high = -Infinity;
    let low = Infinity;
    for (const s of series) {
      if ((s.axis || "left") !== axis) continue;
      for (const p of s.points) {
        if (p[1] === null || p[1] === undefined) continue;
        if (p[1] > high) high = p[1];
        if (p[1] < low) low = p[1];
      }
    }
    return [low, high];
  }

  /* Draw (or redraw) a line chart into `element` with `options`. */
  function line(element, options) {
    element.ffChart = Object.assign({ hidden: (element.ffChart && element.ffChart.hidden) || new Set() }, options);
    if (resizer && !element.ffObserved) {
      resizer.observe(element);
      element.ffObserved = true;
    }
    draw(element);
  }

  function draw(element) {
    const o = element.ffChart;
    const width = Math.max(240, element.clientWidth || 600);
    o.width = width;
    const height = o.height || 220;
    element.replaceChildren();
    const all = o.series.filter((s) => s.points && s.points.length);
    if (!all.length) {
      element.appendChild(html("div", "empty", o.empty || "No data in this range."));
      return;
    }
    const visible = all.filter((s) => !o.hidden.has(s.name));
    const hasRight = all.some((s) => s.axis === "right");
    const m = { left: 52, right: hasRight ? 46 : 14, top: 12, bottom: 24 };
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const start = o.start;
    const end = o.end;
    const x = (t) => m.left + ((t - start) / Math.max(1, end - start)) * plotW;

    const scales = {};
    for (const axis of hasRight ? ["left", "right"] : ["left"]) {
      const spec = (o.axes && o.axes[axis]) || {};
      let [low, high] = extent(visible.length ? visible : all, axis);
      if (!Number.isFinite(high)) { low = 0; high = 1; }
      low = spec.min !== undefined ? Math.min(spec.min, low) : low;
      for (const t of o.thresholds || []) {
        // A threshold within reach is drawn to scale; a far one only labelled.
        if ((t.axis || "left") === axis && t.value <= high * 1.6) high = Math.max(high, t.value);
      }
      if (spec.max !== undefined) high = Math.min(high, spec.max);
      const ticks = niceTicks(low, high <= low ? low + 1 : high, 4);
      const top = ticks[ticks.length - 1];
      const bottom = ticks[0];
      scales[axis] = {
        unit: spec.unit,
        ticks,
        y: (v) => m.top + plotH - ((v - bottom) / Math.max(1e-9, top - bottom)) * plotH,
        top,
      };
    }

    const root = el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": o.label || "chart" }, element);
    const gridLayer = el("g", { class: "axis" }, root);
    for (const v of scales.left.ticks) {
      const y = scales.left.y(v);
      el("line", { class: "gridline", x1: m.left, x2: width - m.right, y1: y, y2: y }, gridLayer);
      const label = el("text", { x: m.left - 6, y: y + 4, "text-anchor": "end" }, gridLayer);
      label.textContent = formatNumber(v, scales.left.unit);
    }
    if (scales.right) {
      for (const v of scales.right.ticks) {
        const label = el("text", { x: width - m.right + 6, y: scales.right.y(v) + 4, "text-anchor": "start" }, gridLayer);
        label.textContent = formatNumber(v, scales.right.unit);
      }
    }
    for (const t of timeTicks(start, end, plotW)) {
      const label = el("text", { x: x(t), y: height - 6, "text-anchor": "middle" }, gridLayer);
      label.textContent = formatTime(t, end - start);
    }
    for (const t of o.thresholds || []) {
      const scale = scales[t.axis || "left"];
      if (!scale) continue;
      if (t.value <= scale.top) {
        const y = scale.y(t.value);
        el("line", { class: "threshold", x1: m.left, x2: width - m.right, y1: y, y2: y }, root);
        const label = el("text", { class: "threshold-label", x: width - m.right - 4, y: y - 4, "text-anchor": "end" }, root);
        label.textContent = t.label;
      } else {
        const label = el("text", { class: "threshold-label", x: width - m.right - 4, y: m.top + 8, "text-anchor": "end" }, root);
        label.textContent = t.label + " (above)";
      }
    }

    const gap = Math.max(2.5 * (o.step || 60) * 1000, 1);
    for (const s of visible) {
      const scale = scales[s.axis || "left"];
      const pts = s.points.filter((p) => p[1] !== null && p[1] !== undefined);
      if (s.kind === "bars") {
        // A bar covers its step (ending at the point's time), clipped to the plot.
        const g = el("g", { "data-series": s.name, "data-points": pts.length, class: "bars" }, root);
        for (const p of pts) {
          const right = Math.min(x(p[0]), m.left + plotW);
          const left = Math.max(m.left, x(p[0] - (o.step || 60) * 1000));
          const pad = Math.min(2, (right - left) * 0.15);
          const y = scale.y(p[1]);
          el("rect", { class: "bar", x: left + pad, y, width: Math.max(1, right - left - 2 * pad),
            height: Math.max(0, m.top + plotH - y), fill: s.color }, g);
        }
        continue;
      }
      let d = "";
      let area = "";
      let prev = null;
      let runStart = null;
      for (const p of pts) {
        const px = x(p[0]).toFixed(1);
        const py = scale.y(p[1]).toFixed(1);
        if (prev === null || p[0] - prev > gap) {
          if (runStart !== null && s.kind === "area") area += `L${x(prev).toFixed(1)},${m.top + plotH}L${runStart},${m.top + plotH}Z`;
          d += `M${px},${py}`;
          area += `M${px},${py}`;
          runStart = px;
        } else {
          d += `L${px},${py}`;
          area += `L${px},${py}`;
        }
        prev = p[0];
      }
      if (s.kind === "area" && prev !== null) {
        area += `L${x(prev).toFixed(1)},${m.top + plotH}L${runStart},${m.top + plotH}Z`;
        el("path", { class: "area", d: area, fill: s.color }, root);
      }
      el("path", { class: "series" + (s.thin ? " thin" : ""), d, stroke: s.color,
        "data-series": s.name, "data-points": pts.length }, root);
      if (pts.length === 1) {
        el("circle", { cx: x(pts[0][0]), cy: scale.y(pts[0][1]), r: 3, fill: s.color }, root);
      }
    }

    addHover(element, root, o, visible, scales, x, m, plotH, width);
    addLegend(element, o, all);
  }

  function addHover(element, root, o, visible, scales, x, m, plotH, width) {
    if (!visible.length) return;
    const times = [...new Set(visible.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const cross = el("line", { class: "crosshair", y1: m.top, y2: m.top + plotH, visibility: "hidden" }, root);
    const dots = visible.map((s) => el("circle", { class: "hover-dot", r: 4, fill: s.color, visibility: "hidden" }, root));
    const overlay = el("rect", { x: m.left, y: m.top, width: Math.max(0, width - m.left - m.right), height: plotH, fill: "transparent" }, root);
    const tip = html("div", "tooltip");
    tip.hidden = true;
    element.appendChild(tip);
    const hide = () => {
      tip.hidden = true;
      cross.setAttribute("visibility", "hidden");
      dots.forEach((dot) => dot.setAttribute("visibility", "hidden"));
    };
    overlay.addEventListener("mouseleave", hide);
    overlay.addEventListener("mousemove", (event) => {
      const box = root.getBoundingClientRect();
      const px = ((event.clientX - box.left) / box.width) * width;
      let best = times[0];
      for (const t of times) if (Math.abs(x(t) - px) < Math.abs(x(best) - px)) best = t;
      cross.setAttribute("x1", x(best));
      cross.setAttribute("x2", x(best));
      cross.setAttribute("visibility", "visible");
      tip.replaceChildren(html("div", "t", new Date(best).toLocaleString()));
      visible.forEach((s, i) => {
        const point = s.points.find((p) => p[0] === best);
        if (!point || point[1] === null) {
          dots[i].setAttribute("visibility", "hidden");
          return;
        }
        const scale = scales[s.axis || "left"];
        dots[i].setAttribute("cx", x(best));
        dots[i].setAttribute("cy", scale.y(point[1]));
        dots[i].setAttribute("visibility", "visible");
        const row = html("div");
        const swatch = html("span", "swatch");
        swatch.style.background = s.color;
        row.append(swatch, `${s.name}: ${formatNumber(point[1], scale.unit)}`);
        tip.appendChild(row);
      });
      tip.hidden = false;
      const left = (x(best) / width) * element.clientWidth;
      tip.style.left = Math.min(Math.max(0, left + 12), element.clientWidth - tip.offsetWidth) + "px";
      tip.style.top = "8px";
    });
  }

  function addLegend(element, o, all) {
    if (all.length < 2 && !o.legend) return;
    const legend = html("div", "legend");
    for (const s of all) {
      const button = html("button", o.hidden.has(s.name) ? "off" : "");
      button.type = "button";
      const swatch = html("span", "swatch");
      swatch.style.background = s.color;
      button.append(swatch, s.name);
      button.addEventListener("click", () => {
        if (o.hidden.has(s.name)) o.hidden.delete(s.name);
        else o.hidden.add(s.name);
        draw(element);
      });
      legend.appendChild(button);
    }
    element.appendChild(legend);
  }

  /* A bare sparkline of [time, value] points. */
  function spark(element, points, color) {
    element.replaceChildren();
    const pts = (points || []).filter((p) => p[1] !== null && p[1] !== undefined);
    if (pts.length < 2) return;
    const width = 140;
    const height = 28;
    const t0 = pts[0][0];
    const t1 = pts[pts.length - 1][0];
    let high = Math.max(...pts.map((p) => p[1]));
    const low = Math.min(0, ...pts.map((p) => p[1]));
    if (high <= low) high = low + 1;
    const x = (t) => ((t - t0) / Math.max(1, t1 - t0)) * width;
    const y = (v) => height - 2 - ((v - low) / (high - low)) * (height - 4);
    const root = el("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", width: "100%", height }, element);
    const d = pts.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join("");
    el("path", { d: d + `L${width},${height}L0,${height}Z`, fill: color, opacity: 0.12 }, root);
    el("path", { d, fill: "none", stroke: color, "stroke-width": 1.5, "data-points": pts.length }, root);
  }

  return { line, spark, formatNumber, formatTime };
})();
