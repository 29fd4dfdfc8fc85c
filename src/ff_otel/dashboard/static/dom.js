/* ff-otel dashboard: what every panel script shares (elements, fetching, formatting).
 *
 * Text from the store is only ever set as textContent, never parsed as HTML.
 * Mutating requests carry the page's CSRF token in X-CSRF-Token.
 */
"use strict";

window.FFDom = (function () {
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569", "#dc2626"];
  const $ = (id) => document.getElementById(id);
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


  function barRow(label, share, value, bad) {
    const fill = h("div", { className: "bar-fill" + (bad ? " bad" : "") });
    fill.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`;
    return h("div", { className: "bar-row" }, h("span", { className: "label", title: label, text: label }), h("div", { className: "bar-track" }, fill), h("span", { className: "value", text: value }));
  }

  return { $, h, ago, clock, getJSON, postJSON, toast, colorOf, barRow, fmt: window.FFCharts.formatNumber };
})();
