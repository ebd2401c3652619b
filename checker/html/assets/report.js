// asfl trace report: renders the embedded data (no network). Sections: verdict, a
// space-time diagram (one lane per node, virtualised: only the lanes in view and the
// events of the current window are in the DOM), per-round cluster tables, the honest
// aggregators' model chains, and inclusion / epsilon plots.
"use strict";
(function () {
  const T0 = performance.now();
  const D = JSON.parse(document.getElementById("data").textContent);
  const E = D.events;
  const N = E.seq.length;
  const NODES = D.nodes;
  const KINDS = D.kinds;
  const K = Object.fromEntries(KINDS.map((k, i) => [k, i]));
  const WIRE = new Set([K.send, K.deliver, K.drop]);
  const SVGNS = "http://www.w3.org/2000/svg";
  const COLORS = {
    submit: "#2e86de", propose: "#8e44ad", endorse: "#16a085", certify: "#27ae60", release: "#d35400",
    reconstruct: "#c0392b", aggregate: "#2c3e50", accept: "#7f8c8d", equivocation: "#e74c3c",
    local_step: "#95a5a6", crash: "#000000", drop: "#e74c3c", end: "#34495e",
    attest: "#b7950b", announce: "#1abc9c", fetch: "#5d6d7e", serve: "#148f77",
  };
  const MSGCOLORS = ["#2e86de", "#8e44ad", "#16a085", "#d35400", "#7f8c8d", "#e74c3c", "#6c3483", "#b7950b", "#5d6d7e"];
  const byz = new Set(D.byzantine.map((j) => "A" + j));
  const seqIx = new Map();
  const sendOf = new Map();
  for (let i = 0; i < N; i++) {
    seqIx.set(E.seq[i], i);
    if (E.k[i] === K.send) sendOf.set(E.m[i], i);
  }
  const findings = D.verdict.findings;
  const focus = findings.find((f) => f.seq !== null);
  const violSeq = new Set(focus ? [focus.seq] : []);
  const histSeq = new Set(focus ? focus.history : []);

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of kids) if (c !== null && c !== undefined) e.append(c.nodeType ? c : String(c));
    return e;
  }
  function s(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  function list(xs, cap) {
    if (!xs || !xs.length) return "—";
    const txt = xs.join(", ");
    if (xs.length <= (cap || 24)) return txt;
    return h("details", {}, h("summary", {}, `${xs.length} — ${xs.slice(0, cap || 24).join(", ")}, …`), txt);
  }
  function hue(hex) {
    return `hsl(${parseInt(hex.slice(0, 6), 16) % 360},65%,48%)`;
  }
  function nodeLabel(n) {
    return byz.has(n) ? h("span", { class: "byzname" }, n + " (Byzantine)") : n;
  }

  // ---------------------------------------------------------------- header and verdict
  const cfg = D.config;
  document.getElementById("top").append(
    h("h1", {}, D.title),
    h("div", { class: "sub" },
      `${D.origin ? D.origin + " · " : ""}${cfg.clients} clients, ${cfg.aggregators} aggregators ` +
      `(t_a=${cfg.t_a}, t_c=${cfg.t_c}, q_min=${cfg.q_min}, B=${cfg.lead_bound}), ${cfg.rounds} rounds, ` +
      `rule ${cfg.rule}; Byzantine: ${D.byzantine.map((j) => "A" + j).join(", ") || "none"}` +
      `${D.behaviour ? " (" + D.behaviour + ")" : ""}; crashed: ${Object.keys(D.crashed).join(", ") || "none"}; ` +
      `${D.total_events} events`));
  const V = D.verdict;
  const vbox = document.getElementById("verdict");
  vbox.append(h("h2", {}, "Verdict"));
  vbox.append(h("div", { class: "banner " + (V.ok ? "ok" : "bad"), id: "banner" },
    V.ok ? "VALID: no property violated" : `INVALID: ${findings.length} violation(s)`));
  const lv = V.liveness || {};
  const fr = V.fairness || {};
  vbox.append(h("p", {},
    `liveness: ${lv.verdict || "—"} (end status ${lv.status || "—"}, faults within bounds: ${lv.faults_within_bounds}). ` +
    (fr.min_correct !== undefined && fr.min_correct !== null
      ? `inclusions over correct clients ${fr.min_correct}..${fr.max_correct} (spread ${fr.spread_correct}); ` +
        `epsilon ${fr.epsilon_correct.map((x) => x.toFixed(1)).join("..")}` : "")));
  findings.slice(0, 50).forEach((f, n) => {
    const where = f.seq === null ? "whole run" : `event #${f.seq} (line ${f.seq + 1})`;
    vbox.append(h("div", { class: "finding" + (f === focus ? " first" : ""), "data-prop": f.prop },
      h("b", {}, f.prop), ` [${f.source}] at ${where}: ${f.message}`,
      h("div", { class: "stmt" }, f.statement),
      f.history.length ? h("div", { class: "sub" }, `led to by ${f.history.length} earlier events: ` +
        f.history.slice(-12).map((x) => "#" + x).join(" ")) : null,
      f.seq !== null ? h("button", { onclick: () => goTo(f.seq, n === 0 || f === focus) }, "show in diagram") : null));
  });
  if (findings.length > 50) vbox.append(h("p", {}, `… ${findings.length - 50} more (asfl check --json)`));

  // ---------------------------------------------------------------- diagram controls
  const st = { round: -1, cluster: -1, nodes: null, wire: true, width: 120, offset: 0 };
  const ctl = document.getElementById("controls");
  const rsel = h("select", { id: "f-round" }, h("option", { value: -1 }, "all"));
  for (let t = 0; t < cfg.rounds; t++) rsel.append(h("option", { value: t }, t));
  const csel = h("select", { id: "f-cluster" }, h("option", { value: -1 }, "all"));
  for (let c = 0; c < D.n_a; c++) csel.append(h("option", { value: c }, c));
  const ninp = h("input", { id: "f-nodes", size: 18, placeholder: "e.g. A1, C3" });
  const wchk = h("input", { id: "f-wire", type: "checkbox" });
  wchk.checked = true;
  const wsel = h("select", { id: "f-width" });
  for (const w of [40, 80, 120, 240, 480, 960]) wsel.append(h("option", { value: w }, w));
  wsel.value = "120";
  const slider = h("input", { id: "f-offset", type: "range", min: 0, max: 0, value: 0, style: "width:260px" });
  const seqinp = h("input", { id: "f-seq", size: 7, placeholder: "seq" });
  ctl.append(
    h("label", {}, "round ", rsel), h("label", {}, "cluster ", csel), h("label", {}, "nodes ", ninp),
    h("label", {}, wchk, " wire events"), h("label", {}, "window ", wsel),
    h("button", { onclick: () => page(-1) }, "◀"), slider, h("button", { onclick: () => page(1) }, "▶"),
    h("label", {}, "go to ", seqinp));
  rsel.onchange = () => { st.round = +rsel.value; refilter(); };
  csel.onchange = () => { st.cluster = +csel.value; refilter(); };
  ninp.onchange = () => {
    const want = ninp.value.split(/[\s,]+/).filter(Boolean).map((x) => x.toUpperCase());
    st.nodes = want.length ? new Set(NODES.map((n, i) => (want.includes(n) ? i : -1)).filter((i) => i >= 0)) : null;
    refilter();
  };
  wchk.onchange = () => { st.wire = wchk.checked; refilter(); };
  wsel.onchange = () => { st.width = +wsel.value; draw(); };
  slider.oninput = () => { st.offset = +slider.value; draw(); };
  seqinp.onchange = () => goTo(+seqinp.value, false);
  const legend = document.getElementById("legend");
  for (const k of ["submit", "propose", "endorse", "certify", "release", "reconstruct", "aggregate", "attest",
    "announce", "accept", "fetch", "serve", "equivocation", "drop", "crash"]) {
    legend.append(h("span", {}, h("i", { style: `background:${COLORS[k]}` }), `${k} (${D.rules[k]})`));
  }
  legend.append(h("span", {}, "small dots: send / deliver; lines: messages coloured by kind; " +
    "red ring: the violating event; orange: events that led to it"));

  // ---------------------------------------------------------------- filtering
  let vis = new Int32Array(0);
  let lanes = [];
  function members(t, c) {
    return D.rounds[t].clusters[c].members.map((i) => D.n_a + i);
  }
  function refilter() {
    const out = [];
    let nodes = st.nodes;
    if (!nodes && st.cluster >= 0 && st.round >= 0) {
      nodes = new Set([...NODES.keys()].filter((i) => i < D.n_a).concat(members(st.round, st.cluster)));
    }
    for (let i = 0; i < N; i++) {
      const k = E.k[i];
      if (!st.wire && WIRE.has(k)) continue;
      if (st.round >= 0 && E.r[i] !== st.round && k !== K.crash) continue;
      if (st.cluster >= 0 && E.c[i] !== st.cluster && k !== K.crash) continue;
      if (nodes && !nodes.has(E.n[i]) && !(E.p[i] >= 0 && nodes.has(E.p[i]) && k === K.send)) continue;
      out.push(i);
    }
    vis = Int32Array.from(out);
    const used = new Set();
    for (const i of vis) { if (E.n[i] >= 0) used.add(E.n[i]); }
    lanes = [...NODES.keys()].filter((i) => (nodes ? nodes.has(i) : i < D.n_a || used.has(i)));
    slider.max = Math.max(0, vis.length - st.width);
    st.offset = Math.min(st.offset, +slider.max);
    draw();
  }
  function page(dir) {
    st.offset = Math.max(0, Math.min(+slider.max, st.offset + dir * Math.floor(st.width * 0.8)));
    draw();
  }
  function goTo(seq, reset, page = true) {
    if (reset) {
      st.round = -1; st.cluster = -1; st.nodes = null; st.wire = true;
      rsel.value = "-1"; csel.value = "-1"; ninp.value = ""; wchk.checked = true;
      refilter();
    }
    let pos = vis.findIndex((i) => E.seq[i] >= seq);
    if (pos < 0) pos = vis.length - 1;
    st.offset = Math.max(0, Math.min(+slider.max, pos - Math.floor(st.width / 2)));
    draw();
    const i = seqIx.get(seq);
    const lane = i === undefined ? -1 : lanes.indexOf(E.n[i]);
    if (lane >= 0) box.scrollTop = Math.max(0, lane * LH - box.clientHeight / 2);
    box.scrollLeft = Math.max(0, LEFT + (pos - st.offset) * lastDx - box.clientWidth / 2);
    if (page) box.scrollIntoView({ block: "nearest" });
  }

  // ---------------------------------------------------------------- drawing
  const LH = 20, LEFT = 104, TOP = 18;
  const box = document.getElementById("diagram");
  const status = document.getElementById("status");
  const tip = document.getElementById("tip");
  let pending = false;
  let lastDx = 10;
  box.addEventListener("scroll", () => {
    if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); }
  });
  function draw() {
    slider.value = st.offset;
    const lo = st.offset, hi = Math.min(vis.length, lo + st.width);
    const dx = Math.max(10, ((box.clientWidth || 1200) - LEFT - 30) / Math.max(1, Math.min(st.width, vis.length)));
    const width = LEFT + dx * (hi - lo) + 30;
    lastDx = dx;
    const height = TOP + lanes.length * LH + 10;
    const first = Math.max(0, Math.floor((box.scrollTop - TOP) / LH) - 2);
    const last = Math.min(lanes.length, first + Math.ceil((box.clientHeight || 560) / LH) + 4);
    const laneOf = new Map();
    lanes.forEach((n, y) => laneOf.set(n, y));
    const yOf = (n) => TOP + laneOf.get(n) * LH + LH / 2;
    const inView = (n) => { const y = laneOf.get(n); return y !== undefined && y >= first && y < last; };
    const root = s("svg", { width, height, id: "spacetime" });
    const xOf = new Map();
    for (let p = lo; p < hi; p++) xOf.set(vis[p], LEFT + (p - lo) * dx + dx / 2);
    for (let y = first; y < last; y++) {
      const n = lanes[y], name = NODES[n];
      const crashedAt = D.crashed[name];
      const g = s("g", { class: "lane" + (byz.has(name) ? " byz" : "") + (crashedAt ? " crashed" : ""), "data-node": name });
      const yy = TOP + y * LH;
      if (byz.has(name)) g.append(s("rect", { class: "bg", x: 0, y: yy, width, height: LH }));
      g.append(s("line", { class: "axis", x1: LEFT, x2: width, y1: yy + LH / 2, y2: yy + LH / 2 }));
      const label = s("text", { x: 4, y: yy + LH / 2 + 4 });
      label.textContent = name + (byz.has(name) ? " BYZ" : "") + (crashedAt ? " ✗" : "");
      g.append(label);
      if (crashedAt) {
        let x0 = LEFT;
        for (let p = lo; p < hi; p++) { if (E.seq[vis[p]] >= crashedAt) { x0 = xOf.get(vis[p]); break; } if (p === hi - 1) x0 = width; }
        if (E.seq[vis[lo]] > crashedAt) x0 = LEFT;
        g.append(s("rect", { class: "dead", x: x0, y: yy + 3, width: Math.max(0, width - x0), height: LH - 6 }));
      }
      root.append(g);
    }
    // messages: a deliver in the window and its send (in the window, or before it: partial)
    const arrows = s("g", { class: "msgs" });
    let drawnMsgs = 0;
    for (let p = lo; p < hi; p++) {
      const i = vis[p];
      if (E.k[i] !== K.deliver) continue;
      const si = sendOf.get(E.m[i]);
      if (si === undefined) continue;
      const from = E.n[si], to = E.n[i];
      if (!laneOf.has(from) || !(inView(from) || inView(to))) continue;
      const xs = xOf.get(si);
      const line = s("line", {
        class: "msg" + (xs === undefined ? " partial" : ""), x1: xs === undefined ? LEFT : xs, y1: yOf(from),
        x2: xOf.get(i), y2: yOf(to), stroke: MSGCOLORS[E.t[i]] || "#999",
      });
      arrows.append(line);
      drawnMsgs++;
    }
    root.append(arrows);
    const marks = s("g", { class: "events" });
    let drawn = 0;
    for (let p = lo; p < hi; p++) {
      const i = vis[p], n = E.n[i];
      if (n < 0 || !inView(n)) continue;
      const k = E.k[i], kind = KINDS[k], x = xOf.get(i), y = yOf(n), seq = E.seq[i];
      const wire = WIRE.has(k) && k !== K.drop;
      let cls = "ev " + kind + (wire ? " wire" : "");
      if (violSeq.has(seq)) cls += " violation";
      else if (histSeq.has(seq)) cls += " history";
      let m;
      if (kind === "crash") {
        m = s("path", { class: cls, d: `M${x - 5},${y - 5}L${x + 5},${y + 5}M${x - 5},${y + 5}L${x + 5},${y - 5}`, stroke: "#000", "stroke-width": 2.5 });
      } else {
        m = s("circle", { class: cls, cx: x, cy: y, r: wire ? 2.5 : 5.5,
          fill: kind === "deliver" ? "#fff" : (COLORS[kind] || "#6f7b8f") });
      }
      m.setAttribute("data-i", i);
      m.setAttribute("data-seq", seq);
      marks.append(m);
      drawn++;
      if (violSeq.has(seq)) marks.append(s("circle", { class: "ring", cx: x, cy: y, r: 11 }));
      else if (histSeq.has(seq)) marks.append(s("circle", { class: "ring history", cx: x, cy: y, r: 8.5 }));
      if (!wire && dx >= 10) {
        const t = s("text", { class: "rule", x: x - 8, y: y - 8 });
        t.textContent = (D.rules[kind] || "").split(",")[0];
        marks.append(t);
      }
    }
    root.append(marks);
    box.replaceChildren(root);
    const s0 = vis.length ? E.seq[vis[lo]] : 0, s1 = vis.length ? E.seq[vis[hi - 1]] : 0;
    status.textContent = `window: events #${s0}–#${s1} (${hi - lo} of ${vis.length} that pass the filters; ` +
      `${D.total_events} in the trace${D.omitted_wire_events ? `, ${D.omitted_wire_events} wire events left out ` +
      `of the report by its cap of ${D.event_cap} events` : ""}); ${lanes.length} lanes (${last - first > lanes.length ? lanes.length : Math.min(lanes.length, last - first)} drawn), ` +
      `${drawn} events and ${drawnMsgs} messages drawn`;
    status.setAttribute("data-drawn", drawn);
  }
  box.addEventListener("mousemove", (ev) => {
    const t = ev.target.closest && ev.target.closest("[data-i]");
    if (!t) { tip.hidden = true; return; }
    const i = +t.getAttribute("data-i"), k = KINDS[E.k[i]], seq = E.seq[i];
    const lines = [`#${seq} (line ${seq + 1})  ${k}  ${NODES[E.n[i]] || ""}` +
      (E.p[i] >= 0 ? (k === "send" ? " → " : " ← ") + NODES[E.p[i]] : "")];
    lines.push(`rule: ${D.rules[k] || "—"}   round: ${E.r[i] >= 0 ? E.r[i] : "—"}   cluster: ${E.c[i] >= 0 ? E.c[i] : "—"}`);
    if (E.t[i] >= 0) lines.push(`message ${E.m[i]}: ${D.msg_types[E.t[i]]}`);
    if (D.digests[seq]) lines.push(`envelope digest ${D.digests[seq]}…`);
    if (D.details[seq]) lines.push(JSON.stringify(JSON.parse(D.details[seq]), null, 1));
    if (violSeq.has(seq)) lines.push(`VIOLATION ${focus.prop}: ${focus.message}`);
    tip.textContent = lines.join("\n");
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 570) + "px";
    tip.style.top = ev.clientY + 14 + "px";
  });
  box.addEventListener("mouseleave", () => { tip.hidden = true; });

  // ---------------------------------------------------------------- rounds
  const rbox = document.getElementById("rounds");
  const rpick = h("select", { id: "r-round" });
  for (let t = 0; t < cfg.rounds; t++) rpick.append(h("option", { value: t }, `round ${t}`));
  const rtable = h("div", {});
  rbox.append(h("label", {}, "show ", rpick), rtable);
  function drawRound() {
    const t = +rpick.value;
    const tb = h("table", { id: "round-table" },
      h("tr", {}, ...["cluster", "coordinator", "members (R-2)", "proposed (R-6, R-7)", "endorsers (R-8)",
        "certified (R-9)", "decoding support (D-4)", "releases proved wrong", "equivocations"].map((x) => h("th", {}, x))));
    for (const c of D.rounds[t].clusters) {
      const coord = "A" + c.cluster;
      const props = Object.entries(c.proposals);
      const prop = c.propose
        ? h("div", {}, list(c.propose.clients.map((i) => "C" + i)), h("div", { class: "sub" },
          `held ${c.propose.held.length}, pd ${c.propose.pd.slice(0, 10)}…`))
        : props.length ? h("div", {}, ...props.map(([pd, cl]) => h("div", {}, `pd ${pd.slice(0, 10)}…: `,
          list(cl.map((i) => "C" + i)))), h("div", { class: "sub" }, "(seen in honest endorsements)")) : "—";
      const ends = Object.entries(c.endorsers).map(([pd, ns]) => h("div", {}, `${pd.slice(0, 10)}…: ${ns.join(", ")}`));
      const cert = c.certified.length ? h("div", {}, ...c.certified.map((x) => h("div", {},
        `pd ${x.pd.slice(0, 10)}… `, list((x.clients || []).map((i) => "C" + i)),
        h("div", { class: "sub" }, `endorsers ${x.endorsers.map((j) => "A" + j).join(", ")}; ` +
          `certificate held by ${x.certified_by.map((j) => "A" + j).join(", ")}`)))) : "none";
      const sup = Object.entries(c.supports).map(([n, xs]) => h("div", {}, `${n}: ${xs.map((j) => "A" + j).join(", ")}`));
      const wrong = Object.entries(c.wrong).map(([n, xs]) => h("div", { class: "wrong" }, `${n} proved wrong: ${xs.map((j) => "A" + j).join(", ")}`));
      const eq = c.equivocations.map((x) => h("div", { class: "wrong" }, `${x.node}: ${x.first.slice(0, 8)} vs ${x.other.slice(0, 8)}`));
      tb.append(h("tr", { "data-cluster": c.cluster }, h("td", {}, c.cluster), h("td", {}, nodeLabel(coord)),
        h("td", {}, list(c.members.map((i) => "C" + i))), h("td", {}, prop),
        h("td", {}, ends.length ? h("div", {}, ...ends) : "—"), h("td", {}, cert),
        h("td", {}, sup.length ? h("div", {}, ...sup) : "—"), h("td", {}, wrong.length ? h("div", {}, ...wrong) : "—"),
        h("td", {}, eq.length ? h("div", {}, ...eq) : "—")));
    }
    rtable.replaceChildren(tb);
  }
  rpick.onchange = drawRound;

  // ---------------------------------------------------------------- model chains
  const C = D.chains;
  const aggs = Object.keys(C.chains).sort((a, b) => +a.slice(1) - +b.slice(1));
  const cbox = document.getElementById("chains");
  if (!aggs.length) cbox.append(h("p", {}, "No honest aggregator produced a model in this trace."));
  else {
    const differ = new Set(C.differ);
    cbox.append(h("p", { class: "sub" },
      `Each cell: the model digest (colour = digest) and the clusters whose certified results it used (R-13). ` +
      `Rows in orange: honest aggregators hold different models (no consensus, D-11); ` +
      `${differ.size} such round(s). The trace format (asfl-trace/1) carries model digests, not accuracy.`));
    const tb = h("table", { id: "chain-table" }, h("tr", {}, h("th", {}, "model round"), ...aggs.map((a) => h("th", {}, a))));
    const maxr = Math.max(...aggs.map((a) => C.chains[a].length ? C.chains[a][C.chains[a].length - 1].round : 0));
    for (let r = 1; r <= maxr; r++) {
      const cells = aggs.map((a) => C.chains[a].find((m) => m.round === r));
      const ref = cells.find((x) => x);
      tb.append(h("tr", { class: differ.has(r) ? "differ" : "" }, h("td", {}, r),
        ...cells.map((m) => m ? h("td", { class: ref && m.model !== ref.model ? "diffcell" : "", title: m.model },
          h("span", { class: "swatch", style: `background:${hue(m.model)}` }), h("code", {}, m.model.slice(0, 10)),
          ` clusters ${m.clusters.join(",")}`) : h("td", {}, "—"))));
    }
    cbox.append(tb);
  }

  // ---------------------------------------------------------------- plots
  const I = D.inclusion;
  const pbox = document.getElementById("plots");
  const crashedClients = new Set(Object.keys(D.crashed).filter((n) => n[0] === "C").map((n) => +n.slice(1)));
  const csel2 = h("select", { id: "p-client" }, h("option", { value: -1 }, "none"));
  for (let i = 0; i < cfg.clients; i++) csel2.append(h("option", { value: i }, "C" + i));
  const plots = h("div", {});
  pbox.append(h("p", { class: "sub" },
    `After each round: how many certified sets contain each client (F-3) and the privacy it has spent (D-10: ` +
    `RDP of the Gaussian mechanism, z=${I.noise_multiplier}, delta=${I.delta}). Thin lines: clients ` +
    `(dashed red: crashed); black: min and max; blue: the selected client.`), h("label", {}, "highlight ", csel2), plots);
  function plot(title, ys, fmt) {
    const W = 460, H = 220, L = 46, B = 26, R = 10, T = 18;
    const rounds = ys.length ? ys[0].length : 0;
    let top = 0;
    for (const row of ys) for (const v of row) top = Math.max(top, v);
    top = top || 1;
    const X = (t) => L + (rounds <= 1 ? 0 : (t * (W - L - R)) / (rounds - 1));
    const Y = (v) => H - B - (v * (H - B - T)) / top;
    const g = s("svg", { width: W, height: H });
    const ttl = s("text", { x: L, y: 12 }); ttl.textContent = title; g.append(ttl);
    g.append(s("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#888" }));
    g.append(s("line", { x1: L, x2: L, y1: T, y2: H - B, stroke: "#888" }));
    for (const v of [0, top / 2, top]) {
      const t = s("text", { x: 2, y: Y(v) + 3 }); t.textContent = fmt(v); g.append(t);
    }
    for (const r of [0, rounds - 1]) {
      const t = s("text", { x: Math.min(X(r) - 4, W - R - 48), y: H - 8 }); t.textContent = "round " + r; g.append(t);
    }
    const pts = (row) => row.map((v, t) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
    if (ys.length <= 2000) {
      ys.forEach((row, i) => g.append(s("polyline", { class: "client" + (crashedClients.has(i) ? " crashed" : ""), points: pts(row) })));
    }
    const mins = [], maxs = [];
    for (let t = 0; t < rounds; t++) {
      let a = Infinity, b = -Infinity;
      ys.forEach((row, i) => { if (!crashedClients.has(i)) { a = Math.min(a, row[t]); b = Math.max(b, row[t]); } });
      mins.push(a === Infinity ? 0 : a); maxs.push(b === -Infinity ? 0 : b);
    }
    g.append(s("polyline", { class: "env", points: pts(mins) }), s("polyline", { class: "env", points: pts(maxs) }));
    const sel = +csel2.value;
    if (sel >= 0) g.append(s("polyline", { class: "sel", points: pts(ys[sel]) }));
    return h("div", { class: "plot" }, g);
  }
  function drawPlots() {
    const byClient = [];
    for (let i = 0; i < cfg.clients; i++) byClient.push(I.counts.map((row) => row[i]));
    const eps = byClient.map((row) => row.map((k) => I.epsilon_of_count[k]));
    plots.replaceChildren(
      plot("inclusion count (certified sets containing the client)", byClient, (v) => v.toFixed(0)),
      plot(`epsilon spent (delta=${I.delta})`, eps, (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1))));
  }
  csel2.onchange = drawPlots;

  // ---------------------------------------------------------------- start
  // a view can be linked: report.html#round=0&cluster=1&nodes=A1,C3&wire=0&window=240&seq=120
  const q = new URLSearchParams(location.hash.slice(1));
  if (q.has("round")) { rsel.value = q.get("round"); st.round = +rsel.value; rpick.value = rsel.value; }
  if (q.has("cluster")) { csel.value = q.get("cluster"); st.cluster = +csel.value; }
  if (q.has("wire")) { wchk.checked = q.get("wire") !== "0"; st.wire = wchk.checked; }
  if (q.has("window")) { wsel.value = q.get("window"); st.width = +wsel.value || 120; }
  if (q.has("nodes")) { ninp.value = q.get("nodes"); ninp.onchange(); } else refilter();
  drawRound();
  drawPlots();
  if (q.has("seq")) goTo(+q.get("seq"), false, false);
  else if (focus && !q.toString()) goTo(focus.seq, false, false);
  document.body.setAttribute("data-render-ms", Math.round(performance.now() - T0));
  document.body.setAttribute("data-ready", "1");
})();
