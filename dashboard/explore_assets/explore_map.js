// The landscape map as a client-side view (see dashboard/explore_map.py for the why).
// Python sends the grid's figure once per grid key and then only the trajectories; every
// view change here (play, pause, scrub, log colour, legend toggles) runs no script.
const G = (window.__losslens ??= { grids: new Map(), plotly: null });

// Markup and style live here, not in the Python mount call: a mount call's html, css and
// js travel with every run of the fragment, this file once per page load.
const HTML = `<div class="ll-root">
  <div class="ll-bar">
    <span class="ll-scrub">
      <button class="ll-play" type="button" aria-label="Play">▶ Play</button>
      <input class="ll-step" type="range" min="0" max="0" value="0" step="1" aria-label="step">
      <span class="ll-stepnum">step 0</span>
    </span>
    <label class="ll-logbox"><input class="ll-log" type="checkbox"> log₁₀ colour</label>
  </div>
  <div class="ll-stack"><div class="ll-map"></div><div class="ll-paths"></div></div>
  <div class="ll-readout"></div>
  <div class="ll-losswrap"><div class="ll-loss"></div><div class="ll-cursor"></div></div>
</div>`;

const CSS = `.ll-root { font-family: var(--st-font, sans-serif); width: 100%; }
.ll-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem;
          margin-bottom: 0.25rem; }
.ll-scrub { display: flex; align-items: center; gap: 0.5rem; flex: 1 1 16rem; }
.ll-step { flex: 1 1 auto; min-width: 6rem; accent-color: var(--st-primary-color, #3b5bdb); }
.ll-stepnum { font-variant-numeric: tabular-nums; white-space: nowrap; font-size: 0.9rem; }
.ll-play { border: 1px solid var(--st-border-color, #ced4da); background: white;
           border-radius: 0.5rem; padding: 0.25rem 0.75rem; cursor: pointer; white-space: nowrap; }
.ll-logbox { white-space: nowrap; font-size: 0.9rem; cursor: pointer; }
.ll-stack { position: relative; width: 100%; }
.ll-map { width: 100%; height: 560px; }
.ll-paths { position: absolute; left: 0; top: 0; pointer-events: none; }
.ll-losswrap { position: relative; width: 100%; }
.ll-loss { width: 100%; height: 260px; }
.ll-cursor { position: absolute; width: 0; border-left: 1.5px dotted #868e96;
             pointer-events: none; }
.ll-readout { overflow-x: auto; font-size: 0.85rem; margin: 0.25rem 0; }
.ll-readout table { border-collapse: collapse; }
.ll-readout td, .ll-readout th { padding: 0.1rem 0.6rem; text-align: right;
                                 font-variant-numeric: tabular-nums; }
.ll-readout td:first-child, .ll-readout th:first-child { text-align: left; }
.ll-swatch { display: inline-block; width: 0.7rem; height: 0.7rem; border-radius: 50%;
             margin-right: 0.35rem; vertical-align: -0.05rem; }
@media (max-width: 640px) { .ll-map { height: 420px; } }`;

function ensureStyle() {
  if (document.getElementById("ll-style")) return;
  const tag = document.createElement("style");
  tag.id = "ll-style";
  tag.textContent = CSS;
  document.head.appendChild(tag);
}

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  G.plotly ??= new Promise((ok, fail) => {
    performance.mark("losslens:plotly-requested"); // marks: the browser tests' timeline
    const tag = document.createElement("script");
    tag.src = url;
    tag.onload = () => { performance.mark("losslens:plotly-ready"); ok(window.Plotly); };
    tag.onerror = () => fail(new Error("could not load " + url));
    document.head.appendChild(tag);
  });
  return G.plotly;
}

function f32(b64) {
  const raw = atob(b64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function decodePath(p) {
  const xy = f32(p.xy);
  const n = xy.length / 2;
  const a = new Array(n), b = new Array(n);
  for (let i = 0; i < n; i++) { a[i] = xy[2 * i]; b[i] = xy[2 * i + 1]; }
  return { ...p, a, b, n, loss: Array.from(f32(p.loss)) };
}

const fmt = (x) => (Number.isFinite(x) ? Number(x).toPrecision(5) : String(x));

function pathTraces(p, k) {
  const m = Math.min(k, p.n - 1) + 1;
  const out = m > p.exit_step;
  return [
    {
      type: "scatter", mode: "lines+markers", name: p.name, legendgroup: p.name,
      x: p.a.slice(0, m), y: p.b.slice(0, m),
      line: { color: p.color, width: 2.5 }, marker: { size: 5, color: p.color },
      hovertemplate: p.name + " step %{pointNumber}: α=%{x:.5g}, β=%{y:.5g}<extra></extra>",
    },
    {
      type: "scatter", mode: "markers", name: p.name + " now", legendgroup: p.name,
      showlegend: false, hoverinfo: "skip",
      x: [p.a[m - 1]], y: [p.b[m - 1]],
      marker: { size: 13, color: p.color, line: { color: "white", width: 2 } },
    },
    {
      type: "scatter", mode: "markers", name: p.name + " left the box", legendgroup: p.name,
      showlegend: false,
      x: out && p.exit ? [p.exit[0]] : [], y: out && p.exit ? [p.exit[1]] : [],
      marker: { symbol: "x", size: 16, color: p.color, line: { color: "white", width: 1.5 } },
      hovertemplate: p.name + " left the box here (step " + p.exit_step + ")<extra></extra>",
    },
  ];
}

// The map's legend shows each optimizer through a point-less proxy trace; the paths themselves
// live on a transparent plot stacked on top (.ll-paths), so moving them redraws only that
// plot and never the contour (Plotly.restyle of any trace replots the whole figure, and
// Plotly.animate drops the layers of traces it is not animating: the contour vanished).
function proxyTrace(p) {
  return {
    type: "scatter", mode: "lines+markers", name: p.name, legendgroup: p.name,
    x: [null], y: [null], hoverinfo: "skip",
    line: { color: p.color, width: 2.5 }, marker: { size: 5, color: p.color },
  };
}

function topLayout(map) {
  const fl = map._fullLayout, xa = fl.xaxis, ya = fl.yaxis;
  return {
    width: fl.width, height: fl.height, autosize: false, showlegend: false, hovermode: false,
    dragmode: false, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    margin: { l: xa._offset, t: ya._offset, r: fl.width - xa._offset - xa._length,
              b: fl.height - ya._offset - ya._length, pad: 0, autoexpand: false },
    xaxis: { range: xa.range.slice(), visible: false, fixedrange: true },
    yaxis: { range: ya.range.slice(), visible: false, fixedrange: true },
  };
}

function syncTop(s) {
  const P = window.Plotly;
  if (!s.ui.top.classList.contains("js-plotly-plot")) return;
  P.relayout(s.ui.top, topLayout(s.ui.map)).catch(() => {});
}

function syncVisible(s) {
  const shown = new Map(s.ui.map._fullData.map((t) => [t.name, t.visible]));
  const visible = s.paths.flatMap((p) => {
    const v = shown.get(p.name) === true;
    return [v, v, v];
  });
  if (visible.length) window.Plotly.restyle(s.ui.top, { visible }, s.pathIdx).catch(() => {});
}

function startTrace(start) {
  return {
    type: "scatter", mode: "markers", name: "start", x: [start[0]], y: [start[1]],
    marker: { symbol: "circle-open", size: 14, color: "white", line: { width: 3 } },
    hovertemplate: "start α=%{x:.4g}, β=%{y:.4g}<extra></extra>",
  };
}

// As figures.nice_step: 1, 2, 5, 10, 20, 25, 50, 100, ... (whole-step ticks).
function niceStep(raw) {
  if (raw <= 1) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const factors = mag >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10];
  return factors.map((f) => f * mag).find((v) => v >= raw);
}

function lossFigure(paths, k, longest) {
  const positive = paths.some((p) => p.loss.some((v) => v > 0 && Number.isFinite(v)));
  const data = paths.map((p) => ({
    type: "scatter", mode: "lines", name: p.name, x: p.loss.map((_, i) => i), y: p.loss,
    line: { color: p.color, width: 2 },
  }));
  const layout = {
    height: 260, margin: { l: 50, r: 10, t: 10, b: 40 }, showlegend: false,
    xaxis: { title: { text: "step" }, tickformat: "d", dtick: niceStep((longest - 1) / 8) },
    yaxis: { title: { text: "L" }, type: positive ? "log" : "linear", exponentformat: "power" },
    uirevision: "loss",
  };
  return { data, layout };
}

function readout(el, paths, k) {
  const rows = paths.map((p) => {
    const i = Math.min(k, p.n - 1);
    return `<tr><td><span class="ll-swatch" style="background:${p.color}"></span>${p.name}</td>` +
      `<td>${i}</td><td>${fmt(p.a[i])}</td><td>${fmt(p.b[i])}</td><td>${fmt(p.loss[i])}</td></tr>`;
  });
  el.innerHTML = `<table><thead><tr><th>optimizer</th><th>step</th><th>α</th><th>β</th>` +
    `<th>L</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

// The step shown, for the Derivation page (dashboard/explore_map.py, scrubbed_step): scrubbing
// sends nothing, so the page reads it from the tab when it opens, for these very runs.
const STEP_KEY = "losslens.step";

function rememberStep(s) {
  try {
    window.sessionStorage.setItem(STEP_KEY, JSON.stringify(
      { k: s.k, runs: s.paths.map((p) => [p.name, p.n]) }));
  } catch (e) { /* storage off: the Derivation page follows the newest step */ }
}

function setStep(s, k) {
  const P = window.Plotly;
  s.k = k;
  rememberStep(s);
  s.ui.slider.value = String(k);
  s.ui.label.textContent = `step ${k} of ${s.longest - 1}`;
  if (s.paths.length) {
    const data = s.paths.flatMap((p) => pathTraces(p, k));
    // restyle, not animate: Plotly.animate (even with redraw: false) drops the contour's
    // paths from the SVG while it plays; restyle redraws the contour from its cached calc.
    P.restyle(s.ui.top, { x: data.map((t) => t.x), y: data.map((t) => t.y) }, s.pathIdx)
      .catch(() => {});
    placeCursor(s, k);
    readout(s.ui.readout, s.paths, k);
  }
}

// The loss chart's cursor is a plain element over the chart: moving it redraws nothing.
function placeCursor(s, k) {
  const fl = s.ui.loss._fullLayout, el = s.ui.cursor;
  if (!fl || !fl.xaxis || !fl.xaxis._length) return;
  const x = fl.xaxis._offset + fl.xaxis.l2p(k);
  el.style.left = `${x}px`;
  el.style.top = `${fl.yaxis._offset}px`;
  el.style.height = `${fl.yaxis._length}px`;
  el.dataset.step = String(k);
}

function stop(s) {
  if (s.timer) clearInterval(s.timer);
  s.timer = null;
  s.ui.play.textContent = "▶ Play";
  s.ui.play.setAttribute("aria-label", "Play");
}

function play(s) {
  if (s.timer) return stop(s);
  if (s.k >= s.longest - 1) setStep(s, 0);
  const stride = Math.max(1, Math.ceil(s.longest / 120));
  s.ui.play.textContent = "❚❚ Pause";
  s.ui.play.setAttribute("aria-label", "Pause");
  s.timer = setInterval(() => {
    const k = Math.min(s.k + stride, s.longest - 1);
    setStep(s, k);
    if (k >= s.longest - 1) stop(s);
  }, 60);
}

function setLog(s, log) {
  s.log = log;
  s.ui.log.checked = log;
  showColour(s);
  rememberView(s);
}

// The view the user set on the map (no rerun, no message) is kept by the tab: in the address
// bar, so a link copied now opens with it, and in sessionStorage. A page change or a reload
// brings the server's own view back (Streamlit rebuilds the address from its copy of the
// query): the map then shows the tab's view and tells the server once (the "view" trigger),
// which takes it and writes the link. Kept with the view the server asked for at the time: a
// link that asks for another view wins.
const VIEW_KEY = "losslens.view";

function storedView(data) {
  try {
    const v = JSON.parse(window.sessionStorage.getItem(VIEW_KEY) || "null");
    if (v && v.serverLog === data.log && v.serverArrows === data.arrows) return v;
  } catch (e) { /* storage off: the server's view */ }
  return null;
}

function rememberView(s) {
  const arrows = s.ui.map._fullData?.find((t) => t.legendgroup === "arrows");
  if (arrows) s.arrows = arrows.visible === true;
  try {
    window.sessionStorage.setItem(VIEW_KEY, JSON.stringify(
      { log: s.log, arrows: s.arrows, serverLog: s.serverLog, serverArrows: s.serverArrows }));
  } catch (e) { /* storage off: the address bar only */ }
  showInAddress(s);
}

function showInAddress(s) {
  const url = new URL(window.location.href);
  const want = { log: s.log ? "1" : "0", arrows: s.arrows ? "1" : "0" };
  let changed = false;
  for (const [name, value] of Object.entries(want)) {
    if (url.searchParams.get(name) !== value) {
      url.searchParams.set(name, value);
      changed = true;
    }
  }
  if (changed) window.history.replaceState(window.history.state, "", url);
}

function wire(root, setTriggerValue) {
  const q = (c) => root.querySelector(c);
  const s = { ui: { map: q(".ll-map"), top: q(".ll-paths"), loss: q(".ll-loss"), cursor: q(".ll-cursor"), slider: q(".ll-step"),
                    label: q(".ll-stepnum"), play: q(".ll-play"), log: q(".ll-log"),
                    readout: q(".ll-readout"), bar: q(".ll-bar") },
              k: 0, longest: 1, paths: [], timer: null, log: null, sig: null, clicks: 0 };
  s.ui.play.addEventListener("click", () => play(s));
  s.ui.slider.addEventListener("input", () => { stop(s); setStep(s, Number(s.ui.slider.value)); });
  s.ui.log.addEventListener("change", () => setLog(s, s.ui.log.checked));
  s.bindClick = () => {
    s.ui.map.on("plotly_click", (ev) => {
      const pt = ev && ev.points && ev.points[0];
      if (!pt || !Number.isFinite(pt.x) || !Number.isFinite(pt.y)) return;
      setTriggerValue("click", { alpha: pt.x, beta: pt.y, n: ++s.clicks });
    });
    s.ui.map.on("plotly_relayout", () => syncTop(s)); // zoom, pan, resize
    s.ui.map.on("plotly_restyle", () => { syncVisible(s); rememberView(s); }); // legend clicks
    s.ui.map.on("plotly_afterplot", () => showColour(s)); // any redraw rebuilds the SVG
  };
  return s;
}

// The map: the grid's figure (contours, curve, arrows), the start and a legend proxy per path.
// A page's first map draws the shown loss contour only, and the other one just after
// (~40 % of the first draw: the page is on screen sooner); later draws have both.
async function drawMap(s, P, base, data, paths) {
  const first = !s.ui.map.classList.contains("js-plotly-plot");
  const traces = base.data.map((t) => ({ ...t }));
  s.contourIdx = [];
  let later = -1;
  traces.forEach((t, i) => {
    if (t.meta === "log" || t.meta === "linear") {
      // Both drawn; CSS shows one (showColour): the colour toggle then redraws nothing.
      s.contourIdx.push(i);
      t.uid = "ll-" + t.meta;
      t.visible = !(first && (t.meta === "log") !== s.log);
      if (!t.visible) later = i;
    } else if (t.legendgroup === "arrows") {
      t.visible = s.arrows ? true : "legendonly";
    }
  });
  traces.push(startTrace(data.start));
  for (const p of data.legend || paths) traces.push(proxyTrace(p));
  const config = { displaylogo: false, responsive: true,
                   modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  await P.react(s.ui.map, traces, base.layout, config);
  if (first) {
    performance.mark("losslens:map-drawn");
    // a frame's callbacks run just before it is painted: when the user first sees the map
    requestAnimationFrame(() => performance.mark("losslens:map-painted"));
    s.bindClick();
  }
  showColour(s);
  s.later = later; // drawn by drawLater, once the rest of the view is on screen
  if (later < 0) performance.mark("losslens:map-complete");
}

async function drawLater(s, P) {
  const idx = s.later;
  if (idx === undefined || idx < 0) return;
  s.later = -1;
  // after the next frame is painted: requestAnimationFrame runs just before a paint
  await new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 0)));
  await P.restyle(s.ui.map, { visible: true }, [idx]);
  showColour(s);
  performance.mark("losslens:map-complete");
}

// Log or linear colour without a redraw: the other contour's SVG group and colour bar are
// hidden by CSS, and it is left out of hover (and so of clicks). Plotly binds each contour
// group to its trace's calc data and names a colour bar "cb" + its trace's uid.
function showColour(s) {
  const gd = s.ui.map;
  if (!gd._fullData) return;
  const groups = new Map(Array.from(gd.querySelectorAll(".contourlayer > g.contour"),
                                     (g) => [g.__data__?.[0]?.trace?.uid, g]));
  for (const idx of s.contourIdx) {
    const trace = gd._fullData[idx];
    const shown = (trace.meta === "log") === s.log;
    if (!("_llHover" in trace)) trace._llHover = trace.hoverinfo;
    trace.hoverinfo = shown ? trace._llHover : "skip"; // read at hover time; a react resets it
    const group = groups.get(trace.uid);
    if (group) group.style.display = shown ? "" : "none";
    const bar = gd.querySelector(".cb" + trace.uid);
    if (bar) bar.style.display = shown ? "" : "none";
  }
}

export default async function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data) return;
  if (!data.preload) performance.mark("losslens:render-start");
  // Plotly's code loads while the server still computes the grid (the page mounts a
  // preloader first); the map below awaits the same promise.
  const plotlyReady = loadPlotly(data.plotly);
  if (data.preload) {
    // Nothing to show: not even the gap Streamlit leaves around an element.
    parentElement.closest?.('[data-testid="stElementContainer"]')?.style.setProperty(
      "display", "none");
    return;
  }
  ensureStyle();
  let root = parentElement.querySelector(".ll-root");
  if (!root) {
    parentElement.insertAdjacentHTML("beforeend", HTML);
    root = parentElement.querySelector(".ll-root");
  }
  const s = (root.__ll ??= wire(root, setTriggerValue));
  if (data.base) {
    G.grids.set(data.key, data.base);
    while (G.grids.size > 4) G.grids.delete(G.grids.keys().next().value);
  }
  const base = G.grids.get(data.key);
  if (!base) { setTriggerValue("need_grid", data.key); return; }
  const P = await plotlyReady;

  const paths = data.paths.map(decodePath);
  const longest = Math.max(1, ...paths.map((p) => p.n));
  const sig = paths.map((p) => p.name + ":" + p.n).join(",") + "|" + data.key;
  if (sig !== s.sig) s.k = data.step < 0 || data.step >= longest ? longest - 1 : data.step;
  s.sig = sig;
  s.paths = paths;
  s.longest = longest;
  rememberStep(s);
  if (s.log === null || data.log !== s.serverLog || data.arrows !== s.serverArrows) {
    const mine = storedView(data); // this tab's own choice, after a page change or reload
    s.log = mine ? mine.log : data.log;
    s.arrows = mine ? mine.arrows : data.arrows;
    if (mine && (mine.log !== data.log || mine.arrows !== data.arrows))
      setTriggerValue("view", { log: mine.log, arrows: mine.arrows });
  }
  s.serverLog = data.log;
  s.serverArrows = data.arrows;

  // The map itself changes only with the grid, the start, the set of paths or a view the
  // server set: a Step that only lengthens the paths leaves it alone (a react of the map
  // redraws the whole contour), and redraws the light plot over it and the loss chart.
  const mapSig = JSON.stringify([data.key, data.start, s.arrows,
                                 (data.legend || paths).map((p) => [p.name, p.color])]);
  if (mapSig !== s.mapSig || !s.ui.map.classList.contains("js-plotly-plot")) {
    await drawMap(s, P, base, data, paths);
    s.mapSig = mapSig;
  }
  showColour(s);
  // Each path shown as its legend entry says, in the one react (no restyle after it).
  const shown = new Map(s.ui.map._fullData.map((t) => [t.name, t.visible]));
  const top = paths.flatMap((p) => pathTraces(p, s.k).map(
    (t) => ({ ...t, visible: shown.has(p.name) ? shown.get(p.name) === true : true })));
  s.pathIdx = top.map((_, i) => i);
  await P.react(s.ui.top, top, topLayout(s.ui.map), { staticPlot: true });
  performance.mark("losslens:paths-drawn");
  s.ui.log.checked = s.log;

  const has = paths.length > 0;
  s.ui.loss.parentElement.style.display = has ? "" : "none";
  s.ui.readout.style.display = has ? "" : "none";
  s.ui.bar.querySelector(".ll-scrub").style.display = has ? "" : "none";
  s.ui.slider.max = String(longest - 1);
  s.ui.slider.value = String(s.k);
  s.ui.label.textContent = `step ${s.k} of ${longest - 1}`;
  if (has) {
    const lf = lossFigure(paths, s.k, longest);
    await P.react(s.ui.loss, lf.data, lf.layout, { displaylogo: false, responsive: true });
    if (!s.lossBound) {
      s.lossBound = true;
      s.ui.loss.on("plotly_relayout", () => placeCursor(s, s.k)); // zoom, resize
    }
    placeCursor(s, s.k);
    readout(s.ui.readout, paths, s.k);
  } else if (s.ui.loss.classList.contains("js-plotly-plot")) {
    P.purge(s.ui.loss);
  }
  performance.mark("losslens:render-done");
  await drawLater(s, P);
}
