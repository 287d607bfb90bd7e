// The model viewer of mle serve: a repository list and a page per model
// version (graph, tensors, metadata, signature, live request metrics).
// Plain JavaScript, no dependencies: everything it needs is served by the
// binary itself.
"use strict";

const main = document.getElementById("main");
let statsTimer = null;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function shape(s) { return s ? "[" + s.map(d => (d < 0 ? "?" : d)).join(", ") + "]" : "?"; }

async function api(path) {
  const headers = {};
  const tok = sessionStorage.getItem("mle-token");
  if (tok) headers["Authorization"] = "Bearer " + tok;
  const r = await fetch(path, { headers });
  if (r.status === 401) {
    document.getElementById("auth").hidden = false;
    throw new Error("this server needs a bearer token: enter it above");
  }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

document.getElementById("auth").addEventListener("submit", ev => {
  ev.preventDefault();
  sessionStorage.setItem("mle-token", document.getElementById("token").value);
  document.getElementById("auth").hidden = true;
  route();
});

function table(head, rows, numeric = []) {
  const t = el("table", {}, el("tr", {}, ...head.map(h => el("th", {}, h))));
  for (const r of rows) {
    t.append(el("tr", {}, ...r.map((c, i) => el("td", numeric.includes(i) ? { class: "num" } : {}, c))));
  }
  return t;
}

async function showRepository() {
  const repo = await api("/ui/api/repository");
  document.getElementById("server").textContent = `mle ${repo.server.version} · ${repo.server.ready ? "ready" : "not ready"}`;
  const rows = [];
  for (const m of repo.models) {
    if (m.versions.length === 0) rows.push([m.name, "", el("span", { class: "state-UNAVAILABLE" }, "UNAVAILABLE"), ""]);
    for (const v of m.versions) {
      const link = v.state === "READY" ? el("a", { href: `#/models/${encodeURIComponent(m.name)}/versions/${v.version}` }, m.name) : m.name;
      rows.push([link, v.version, el("span", { class: "state-" + v.state }, v.state), v.reason || ""]);
    }
  }
  main.replaceChildren(el("h1", {}, "Model repository"),
    rows.length ? table(["model", "version", "state", "reason"], rows) : el("p", { class: "muted" }, "No models in the repository."));
}

// layout places nodes in layers: a node sits one layer below the deepest
// node (or graph input) it reads from.
function layout(g) {
  const producer = new Map();
  g.nodes.forEach((n, i) => n.outputs.forEach(v => { if (v >= 0) producer.set(v, i); }));
  const level = new Array(g.nodes.length).fill(-1);
  const depth = i => {
    if (level[i] >= 0) return level[i];
    level[i] = 1; // cycles cannot happen in a checked graph; this guards anyway
    let d = 1;
    for (const v of g.nodes[i].inputs) if (producer.has(v)) d = Math.max(d, depth(producer.get(v)) + 1);
    return (level[i] = d);
  };
  g.nodes.forEach((_, i) => depth(i));
  const boxes = [];
  g.inputs.forEach(v => boxes.push({ level: 0, title: g.values[v].name, sub: `${g.values[v].dtype} ${shape(g.values[v].shape)}`, io: true, outs: [v], ins: [] }));
  g.nodes.forEach((n, i) => {
    const out = n.outputs.filter(v => v >= 0).map(v => g.values[v]);
    boxes.push({ level: level[i], title: n.op, sub: out.map(v => shape(v.shape)).join(" "), node: n,
      ins: n.inputs.filter(v => v >= 0 && g.values[v].kind !== "constant"), outs: n.outputs.filter(v => v >= 0) });
  });
  // An output sits just below the node that makes it.
  g.outputs.forEach(v => boxes.push({ level: producer.has(v) ? level[producer.get(v)] + 1 : 1, title: g.values[v].name,
    sub: `${g.values[v].dtype} ${shape(g.values[v].shape)}`, io: true, ins: [v], outs: [] }));
  const maxLevel = Math.max(...boxes.map(b => b.level));
  const rows = new Map();
  for (const b of boxes) {
    if (!rows.has(b.level)) rows.set(b.level, []);
    b.col = rows.get(b.level).length;
    rows.get(b.level).push(b);
  }
  const W = 170, H = 44, GX = 24, GY = 40;
  const widest = Math.max(...[...rows.values()].map(r => r.length));
  for (const [lvl, row] of rows) {
    const offset = ((widest - row.length) * (W + GX)) / 2;
    row.forEach((b, c) => { b.x = 10 + offset + c * (W + GX); b.y = 10 + lvl * (H + GY); });
  }
  return { boxes, width: 20 + widest * (W + GX), height: 20 + (maxLevel + 1) * (H + GY), W, H };
}

function drawGraph(g) {
  const { boxes, width, height, W, H } = layout(g);
  const svg = svgEl("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "model graph" });
  const from = new Map();
  for (const b of boxes) for (const v of b.outs) from.set(v, b);
  for (const b of boxes) {
    for (const v of b.ins) {
      const a = from.get(v);
      if (!a) continue;
      const x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y, my = (y1 + y2) / 2;
      svg.append(svgEl("path", { class: "edge", d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}` }));
    }
  }
  for (const b of boxes) {
    const gEl = svgEl("g", { class: b.io ? "node io" : "node", transform: `translate(${b.x},${b.y})` });
    gEl.append(svgEl("rect", { width: W, height: H }));
    gEl.append(svgEl("text", { x: 8, y: 17, class: "op" }, b.title.length > 22 ? b.title.slice(0, 21) + "…" : b.title));
    gEl.append(svgEl("text", { x: 8, y: 34, class: "shape" }, b.sub.length > 26 ? b.sub.slice(0, 25) + "…" : b.sub));
    if (b.node) {
      const n = b.node;
      const tip = [`${n.op} ${n.name}`, "in: " + n.inputs.map(v => (v < 0 ? "-" : g.values[v].name)).join(", "),
        "out: " + n.outputs.map(v => (v < 0 ? "-" : g.values[v].name)).join(", "), ...n.attrs];
      gEl.append(svgEl("title", {}, tip.join("\n")));
    }
    svg.append(gEl);
  }
  return svg;
}

async function showModel(name, version) {
  const m = await api(`/ui/api/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`);
  const md = m.metadata || {};
  const sig = m.signature.signed
    ? `signed by ${m.signature.keys.join(", ")}` + (m.signature.trusted_by ? ` (verified: ${m.signature.trusted_by})` : " (no trusted key given)")
    : "not signed";
  const facts = [["file", el("code", {}, m.path)], ["size", bytes(m.file_bytes)], ["format", m.format],
    ["loaded", m.loaded_at], ["signature", sig], ["encrypted", m.encrypted ? "yes" : "no"],
    ["weights", `${bytes(m.weights.stored_bytes)} stored, ${bytes(m.weights.raw_bytes)} raw`],
    ["dynamic batching", m.dynamic_batching ? "on" : (m.note || "off")]];
  const info = el("div", { class: "grid2" }, ...facts.flatMap(([k, v]) => [el("span", { class: "muted" }, k), el("span", {}, v)]));
  const metaRows = [["name", md.name], ["description", md.description], ["version", md.version], ["created", md.created],
    ["producer", md.producer && md.producer.name ? `${md.producer.name} ${md.producer.version || ""}` : ""], ["writer", md.writer]]
    .filter(r => r[1]).map(r => [r[0], String(r[1])]);
  for (const [k, v] of Object.entries(md.properties || {})) metaRows.push([k, typeof v === "string" ? v : JSON.stringify(v)]);
  const io = g => g.map(v => [m.graph.values[v].name, m.graph.values[v].dtype, shape(m.graph.values[v].shape)]);
  const stats = el("div", { class: "cards", id: "stats" }, el("span", { class: "muted" }, "…"));
  main.replaceChildren(
    el("p", {}, el("a", { href: "#/" }, "← repository")),
    el("h1", {}, `${m.name} `, el("span", { class: "muted" }, `version ${m.version}`)),
    info,
    el("h2", {}, "Live requests"), stats,
    el("h2", {}, "Inputs and outputs"),
    table(["input", "dtype", "shape"], io(m.graph.inputs)), el("br"), table(["output", "dtype", "shape"], io(m.graph.outputs)),
    el("h2", {}, `Graph (${m.graph.nodes.length} nodes)`), el("div", { id: "graph" }, drawGraph(m.graph)),
    el("h2", {}, `Tensors (${m.tensors.length})`),
    table(["name", "dtype", "shape", "encoding", "stored", "raw"],
      m.tensors.map(t => [t.name, t.dtype, shape(t.shape), t.encoding, bytes(t.stored_bytes), bytes(t.raw_bytes)]), [4, 5]),
    el("h2", {}, "Metadata"), metaRows.length ? table(["field", "value"], metaRows) : el("p", { class: "muted" }, "none"),
    el("h2", {}, "Lineage"), el("pre", {}, el("code", {}, m.lineage ? JSON.stringify(m.lineage, null, 2) : "none")));
  const refresh = async () => {
    try {
      const s = await api(`/ui/api/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(m.version)}/stats`);
      const card = (label, value) => el("div", { class: "card" }, el("b", {}, value), label);
      const h = s.histograms["mle_inference_request_duration_seconds"];
      const b = s.histograms["mle_batch_size"];
      const cards = Object.entries(s.outcomes).sort().map(([k, v]) => card(k, v));
      if (cards.length === 0) cards.push(card("requests", 0));
      if (h && h.count) cards.push(card("mean latency", (1000 * h.sum / h.count).toFixed(2) + " ms"));
      if (b && b.count) cards.push(card("mean rows per run", (b.sum / b.count).toFixed(1)));
      cards.push(card("in flight (server)", s.in_flight));
      const kids = [...cards];
      if (s.drift) {
        kids.push(card("drift score (max PSI)", s.drift.score.toFixed(3)));
        kids.push(el("div", { class: "card" }, table(["feature", "PSI", "mean"],
          s.drift.features.map(f => [f.name, f.psi.toFixed(3), f.mean.toFixed(3)]), [1, 2]),
          el("span", { class: "muted" }, `over the last ~${Math.round(s.drift.rows)} rows`)));
      }
      document.getElementById("stats")?.replaceChildren(...kids);
    } catch (e) {
      document.getElementById("stats")?.replaceChildren(el("span", { class: "error" }, e.message));
    }
  };
  await refresh();
  statsTimer = setInterval(refresh, 2000);
}

async function route() {
  clearInterval(statsTimer);
  const m = location.hash.match(/^#\/models\/([^/]+)\/versions\/([^/]+)$/);
  try {
    if (m) await showModel(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    else await showRepository();
  } catch (e) {
    main.replaceChildren(el("p", { class: "error" }, e.message));
  }
}

window.addEventListener("hashchange", route);
route();
