// Small SVG charts: horizontal bars and category line charts. No library, no network.
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a < 0.001 || a >= 1e6)) return v.toExponential(2);
    if (Number.isInteger(v)) return String(v);
    return a < 1 ? v.toFixed(3) : v.toFixed(a < 100 ? 2 : 0);
  }

  // items: [{label, value, cls}] -> horizontal bars, values labelled.
  function bars(items, { width = 420, max = null, title = "" } = {}) {
    const row = 22, left = 210, right = 60;
    const height = items.length * row + (title ? 22 : 6);
    const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart bars", role: "img" });
    if (title) svg.appendChild(el("text", { x: 0, y: 14, class: "chart-title" }, title));
    const top = title ? 22 : 4;
    const peak = max ?? Math.max(1e-12, ...items.map((i) => i.value || 0));
    items.forEach((item, i) => {
      const y = top + i * row;
      const w = Math.max(0, ((item.value || 0) / peak) * (width - left - right));
      svg.appendChild(el("text", { x: left - 6, y: y + 14, "text-anchor": "end", class: "axis-label" },
        item.label.length > 32 ? "…" + item.label.slice(-31) : item.label));
      svg.appendChild(el("rect", { x: left, y: y + 3, width: w, height: row - 8, class: `bar ${item.cls || ""}` }));
      svg.appendChild(el("text", { x: left + w + 4, y: y + 14, class: "value-label" }, fmt(item.value)));
    });
    return svg;
  }

  // x: category labels; series: [{name, values, cls}] -> a line chart with dots, a y axis and a legend.
  function line(x, series, { width = 560, height = 220, title = "", yLabel = "", marks = [] } = {}) {
    const pad = { l: 56, r: 40, t: title ? 26 : 10, b: 46 };
    const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart line", role: "img" });
    if (title) svg.appendChild(el("text", { x: 0, y: 14, class: "chart-title" }, title));
    const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
    let lo = Math.min(...values), hi = Math.max(...values);
    if (!values.length) { lo = 0; hi = 1; }
    if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 0.5; hi += Math.abs(hi) * 0.1 || 0.5; }
    const iw = width - pad.l - pad.r, ih = height - pad.t - pad.b;
    const sx = (i) => pad.l + (x.length > 1 ? (i / (x.length - 1)) * iw : iw / 2);
    const sy = (v) => pad.t + ih - ((v - lo) / (hi - lo)) * ih;
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4, y = sy(v);
      svg.appendChild(el("line", { x1: pad.l, x2: width - pad.r, y1: y, y2: y, class: "grid" }));
      svg.appendChild(el("text", { x: pad.l - 4, y: y + 4, "text-anchor": "end", class: "axis-label" }, fmt(v)));
    }
    if (yLabel) svg.appendChild(el("text", { x: 4, y: pad.t - 2, class: "axis-label" }, yLabel));
    const every = Math.max(1, Math.ceil(x.length / 7));  // at most ~7 labels: they never overlap
    x.forEach((label, i) => {
      if (marks.includes(label)) {
        svg.appendChild(el("rect", { x: sx(i) - 6, y: pad.t, width: 12, height: ih, class: "mark" }));
      }
      if ((i % every === 0 && x.length - 1 - i >= every / 2) || i === x.length - 1) {
        svg.appendChild(el("text", { x: sx(i), y: height - pad.b + 16, "text-anchor": "middle", class: "axis-label" },
          String(label)));
      }
    });
    let lx = pad.l;
    series.forEach((s, n) => {
      const pts = s.values.map((v, i) => (v === null || v === undefined ? null : [sx(i), sy(v)]));
      const d = pts.reduce((acc, p, i) => (p ? acc + `${acc && pts[i - 1] ? "L" : "M"}${p[0]},${p[1]}` : acc), "");
      svg.appendChild(el("path", { d, class: `series s${n} ${s.cls || ""}` }));
      pts.forEach((p, i) => {
        if (!p) return;
        const dot = el("circle", { cx: p[0], cy: p[1], r: 3, class: `dot s${n} ${s.cls || ""}` });
        dot.appendChild(el("title", {}, `${s.name} @ ${x[i]}: ${fmt(s.values[i])}`));
        svg.appendChild(dot);
      });
      svg.appendChild(el("rect", { x: lx, y: height - 18, width: 10, height: 10, class: `legend s${n} ${s.cls || ""}` }));
      svg.appendChild(el("text", { x: lx + 14, y: height - 9, class: "axis-label" }, s.name));
      lx += 24 + s.name.length * 6;  // next legend entry after this one's text (11px font)
    });
    return svg;
  }

  return { bars, line, fmt };
})();
