// The lineage graph in SVG: nodes at the server's layered layout, edges as curves; drag to pan,
// wheel to zoom, click a node to select it. Marks: path (propagation), affected, column sources.
"use strict";

const LineageGraph = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const W = 190, H = 24;

  function el(tag, attrs) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  function label(name) {
    return name.length > 28 ? "…" + name.slice(-27) : name;
  }

  // data: {nodes: [{key, type, name, namespace, x, y, state}], edges: [{from, to}], root}
  function draw(container, data, { onSelect = () => {}, marks = {} } = {}) {
    const started = performance.now();
    container.replaceChildren();
    const xs = data.nodes.map((n) => n.x), ys = data.nodes.map((n) => n.y);
    const minX = Math.min(...xs) - W, maxX = Math.max(...xs) + W, minY = Math.min(...ys) - 40, maxY = Math.max(...ys) + 40;
    const view = { x: minX, y: minY, w: Math.max(maxX - minX, 600), h: Math.max(maxY - minY, 300) };
    const svg = el("svg", { class: "graph", "data-node-count": data.nodes.length, "data-edge-count": data.edges.length });
    const setView = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    setView();
    const at = new Map(data.nodes.map((n) => [n.key, n]));
    const edges = el("g", { class: "edges" });
    const frag = document.createDocumentFragment();
    const edgeEls = [];
    for (const e of data.edges) {
      const a = at.get(e.from), b = at.get(e.to);
      if (!a || !b) continue;
      const x1 = a.x + W / 2, x2 = b.x - W / 2, mid = (x1 + x2) / 2;
      const path = el("path", { d: `M${x1},${a.y} C${mid},${a.y} ${mid},${b.y} ${x2},${b.y}`, class: "edge" });
      path.dataset.from = e.from; path.dataset.to = e.to;
      edgeEls.push(path);
      frag.appendChild(path);
    }
    edges.appendChild(frag);
    const nodes = el("g", { class: "nodes" });
    const nodeFrag = document.createDocumentFragment();
    const nodeEls = new Map();
    for (const n of data.nodes) {
      const g = el("g", { class: `node ${n.type} state-${n.state}`, transform: `translate(${n.x - W / 2},${n.y - H / 2})` });
      g.dataset.key = n.key; g.dataset.name = n.name; g.dataset.namespace = n.namespace; g.dataset.type = n.type;
      g.appendChild(el("rect", { width: W, height: H, rx: n.type === "job" ? 12 : 3 }));
      const text = el("text", { x: 8, y: 16 });
      text.textContent = (n.type === "job" ? "⚙ " : "") + label(n.name);
      g.appendChild(text);
      const tip = el("title", {});
      tip.textContent = `${n.type} ${n.namespace} / ${n.name} — ${n.state}`;
      g.appendChild(tip);
      if (data.root && n.key === data.root.key) g.classList.add("root");
      nodeEls.set(n.key, g);
      nodeFrag.appendChild(g);
    }
    nodes.appendChild(nodeFrag);
    svg.append(edges, nodes);
    container.appendChild(svg);

    const api = {
      svg,
      mark(cls, keys) {
        const wanted = new Set(keys);
        for (const [k, g] of nodeEls) g.classList.toggle(cls, wanted.has(k));
        for (const p of edgeEls) p.classList.toggle(cls, wanted.has(p.dataset.from) && wanted.has(p.dataset.to));
      },
      select(key) {
        for (const [k, g] of nodeEls) g.classList.toggle("selected", k === key);
      },
    };
    for (const [cls, keys] of Object.entries(marks)) api.mark(cls, keys);

    nodes.addEventListener("click", (ev) => {
      const g = ev.target.closest("g.node");
      if (!g) return;
      api.select(g.dataset.key);
      onSelect(at.get(g.dataset.key));
    });
    // Pan and zoom by moving the viewBox: nothing is redrawn.
    let drag = null;
    svg.addEventListener("pointerdown", (ev) => {
      if (ev.target.closest("g.node")) return;
      drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
      svg.setPointerCapture(ev.pointerId);
    });
    svg.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const scale = view.w / svg.clientWidth;
      view.x = drag.vx - (ev.clientX - drag.x) * scale;
      view.y = drag.vy - (ev.clientY - drag.y) * scale;
      setView();
    });
    svg.addEventListener("pointerup", () => { drag = null; });
    svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const f = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
      const r = svg.getBoundingClientRect();
      const px = view.x + ((ev.clientX - r.left) / r.width) * view.w, py = view.y + ((ev.clientY - r.top) / r.height) * view.h;
      view.x = px - (px - view.x) * f; view.y = py - (py - view.y) * f; view.w *= f; view.h *= f;
      setView();
    }, { passive: false });
    api.renderMs = performance.now() - started;
    svg.dataset.renderMs = api.renderMs.toFixed(1);
    return api;
  }

  return { draw };
})();
