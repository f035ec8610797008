// mlpinspect explorer: draws the data mlpinspect computed; computes no
// number of its own. Views: #layer, #unit/J, #class/C, #example/I.
// No dependencies, no build step; runs from file:// in current browsers.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("mlpinspect-data").textContent);
  const view = document.getElementById("view");
  const state = { unit: 0, cls: 0, example: 0, by: "weight", k: 3, slot: 0 };

  // -- arrays: base64 -> zlib -> typed array ----------------------------------
  const TYPES = { f8: Float64Array, i4: Int32Array, i2: Int16Array, u1: Uint8Array, i1: Int8Array };

  async function decode(packed) {
    const bin = atob(packed.data);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    const buffer = await new Response(stream).arrayBuffer();
    packed.values = new TYPES[packed.dtype](buffer);
    delete packed.data;
  }

  function packedIn(obj, out) {
    if (obj && typeof obj === "object") {
      if (typeof obj.dtype === "string" && typeof obj.data === "string") out.push(obj);
      else Object.values(obj).forEach((v) => packedIn(v, out));
    }
    return out;
  }

  // Row i of a packed array (the last axes flattened).
  function row(p, i) {
    const stride = p.shape.slice(1).reduce((a, b) => a * b, 1);
    return p.values.subarray(i * stride, (i + 1) * stride);
  }
  const at = (p, i, j) => p.values[i * p.shape[1] + j];

  // -- colours: ColorBrewer RdBu, red negative, white zero, blue positive -----
  const RDBU = ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7",
    "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"].map((h) =>
    [1, 3, 5].map((o) => parseInt(h.slice(o, o + 2), 16)));

  function signedRGB(t) { // t in [-1, 1]
    const x = (Math.max(-1, Math.min(1, t)) + 1) * 5;
    const i = Math.min(9, Math.floor(x)), f = x - i;
    return RDBU[i].map((c, j) => Math.round(c + f * (RDBU[i + 1][j] - c)));
  }
  const LUT = Array.from({ length: 256 }, (_, q) => signedRGB((q - 128) / 127));
  const css = (t) => "rgb(" + signedRGB(t).join(",") + ")";

  // -- numbers: rounded for display only --------------------------------------
  function fmt(v) {
    if (v === null || !Number.isFinite(v)) return "n/a";
    const a = Math.abs(v);
    const s = a === 0 || (a >= 0.001 && a < 1000) ? v.toFixed(3) : a >= 1000 && a < 1e6 ? v.toFixed(1) : v.toExponential(2);
    return s.replace("-", "\u2212");
  }
  const pct = (v) => (100 * v).toFixed(1) + "%";

  // -- DOM helpers ---------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c !== null && c !== undefined && c !== false) node.append(c);
    }
    return node;
  }
  const num = (v, attrs) => el("span", Object.assign({ class: "num", "data-value": String(v), text: fmt(v) }, attrs));

  function canvas(w, h, fill, cls) {
    const c = el("canvas", { width: w, height: h, class: cls || "img" });
    const ctx = c.getContext("2d");
    const img = ctx.createImageData(w, h);
    fill(img.data);
    ctx.putImageData(img, 0, 0);
    return c;
  }
  function signedImage(codes, w, h, cls) { // int8 codes, -127..127
    return canvas(w, h, (px) => {
      for (let i = 0; i < codes.length; i++) {
        const [r, g, b] = LUT[codes[i] + 128];
        px.set([r, g, b, 255], 4 * i);
      }
    }, cls);
  }
  function inputImage(codes, w, h, cls) { // uint8 codes, ink dark
    return canvas(w, h, (px) => {
      for (let i = 0; i < codes.length; i++) {
        const g = 255 - codes[i];
        px.set([g, g, g, 255], 4 * i);
      }
    }, cls);
  }
  function legend(limit, what) {
    const bar = el("span", { class: "legend-bar" });
    bar.style.background = "linear-gradient(to right," + [-1, -0.5, 0, 0.5, 1].map(css).join(",") + ")";
    return el("p", { class: "legend" }, el("span", { text: "\u2212" + fmt(limit).replace("\u2212", "") }), bar,
      el("span", { text: "+" + fmt(limit) }), el("span", { class: "legend-what", text: what }));
  }
  // A horizontal bar for value v on a symmetric scale [-limit, limit].
  function bar(v, limit) {
    const track = el("span", { class: "bar" });
    const w = Math.min(50, 50 * Math.abs(v) / (limit || 1));
    const fill = el("span", { class: "bar-fill" });
    fill.style.left = (v >= 0 ? 50 : 50 - w) + "%";
    fill.style.width = w + "%";
    fill.style.background = css(v >= 0 ? 0.8 : -0.8);
    track.append(fill);
    return track;
  }
  const maxAbs = (vals) => vals.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0) || 1;

  // -- what the payload holds -------------------------------------------------
  const isImage = D.input.kind === "image";
  const U = D.units, E = D.examples, AT = D.attribution;
  const classNames = D.classes;
  const label = (i) => (D.labels ? D.labels.values[i] : -1);
  const predicted = (i) => (D.predicted ? D.predicted.values[i] : -1);
  const className = (c) => (c < 0 || !classNames ? "?" : classNames[c]);
  const misclassified = [];

  function unitFlags(j) {
    const out = [];
    if (U.dead[j]) out.push("dead");
    if (U.always_on[j]) out.push("always on");
    if (U.saturated[j]) out.push("saturated");
    if (U.duplicate_of[j] >= 0) out.push("duplicate of " + U.duplicate_of[j]);
    return out;
  }
  const flagBadges = (j) => unitFlags(j).map((f) => el("span", { class: "flag", text: f }));

  // The picture of a unit's incoming weights, or its top features.
  function unitPicture(j, cls) {
    const W = U.weights;
    if (W.images) {
      const w = W.width || D.input.width, h = W.height || D.input.height;
      return signedImage(row(W.images, j), w, h, cls);
    }
    const f = W.features[j], names = D.input.features;
    const limit = maxAbs(W.features.flatMap((u) => u.excitatory_values.concat(u.inhibitory_values)));
    const list = (idx, vals, kind) => el("ul", { class: "features " + kind },
      idx.map((s, r) => el("li", { "data-feature": s }, el("span", { class: "fname", text: names[s] }),
        num(vals[r]), bar(vals[r], limit))));
    return el("div", { class: "feature-box " + (cls || "") },
      list(f.excitatory, f.excitatory_values, "exc"), list(f.inhibitory, f.inhibitory_values, "inh"));
  }
  function exampleThumb(i, value, cls) {
    const pic = isImage ? inputImage(row(D.inputs, i), D.input.width, D.input.height, "thumb") : null;
    return el("a", { class: "example " + (cls || ""), href: "#example/" + i, "data-index": i, "data-value": String(value) },
      pic, el("span", { class: "cap" }, "#" + i + " ", num(value),
        D.labels ? el("span", { class: "lab", text: " (" + className(label(i)) + ")" }) : null));
  }
  function stepper(kind, i, n, names) {
    const go = (j) => "#" + kind + "/" + ((j + n) % n);
    return el("p", { class: "stepper" }, el("a", { href: go(i - 1), class: "prev", text: "\u2190 previous" }),
      el("strong", { text: " " + (names ? names[i] : kind + " " + i) + " " }),
      el("a", { href: go(i + 1), class: "next", text: "next \u2192" }));
  }

  // -- Layer view ---------------------------------------------------------------
  function renderLayer() {
    const m = D.n_units, act = D.activations[D.layer];
    const source = D.layer > 0 ? " from the " + D.layer_sizes[D.layer] + " units of layer " + (D.layer - 1) : "";
    const what = U.weights.images ? "Each tile is a unit's incoming weights" + source + " as an image."
      : "Each tile lists a unit's most positive and most negative input weights.";
    const tiles = el("div", { class: "tiles" });
    for (let j = 0; j < m; j++) {
      const pref = U.class_means ? el("span", { class: "pref", text: "prefers " + className(U.preferred_class[j]) }) : null;
      tiles.append(el("a", { class: "tile" + (unitFlags(j).length ? " flagged" : ""), href: "#unit/" + j, "data-unit": j },
        unitPicture(j, "tile-img"), el("span", { class: "cap", text: "unit " + j }), pref, flagBadges(j)));
    }
    const counts = ["dead", "always_on", "saturated"].map((f) => f.replace("_", " ") + ": " + U[f].filter(Boolean).length)
      .concat(["duplicate: " + U.duplicate_of.filter((d) => d >= 0).length]);
    return [el("h2", { text: "Layer " + D.layer + ": " + m + " " + act + " units" }),
      el("p", { class: "note", text: "Sizes " + D.layer_sizes.join("\u2013") + ". " + what +
        " Flags over " + D.n_examples + " examples: " + counts.join(", ") + "." }),
      U.weights.images ? legend(U.weights.images.limit, "weight (one scale for all units)") : null, tiles];
  }

  // -- Unit view ----------------------------------------------------------------
  function renderUnit(j) {
    const out = [stepper("unit", j, D.n_units), el("h2", { text: "Unit " + j }, flagBadges(j))];
    out.push(el("p", { class: "note" }, "Mean activation ", num(U.mean.values[j]), ", on for ",
      pct(U.active_share.values[j]), " of " + D.n_examples + " examples."));
    out.push(el("div", { class: "cols" },
      el("section", { id: "unit-weights" }, el("h3", { text: "Incoming weights" }), unitPicture(j, "big"),
        U.weights.images ? legend(U.weights.images.limit, "weight") : null),
      el("section", { id: "unit-classes" }, classMeansTable(j))));
    const list = (id, title, idx, vals) => el("section", { id: id }, el("h3", { text: title }),
      el("div", { class: "examples" }, Array.from(row(idx, j), (i, r) => exampleThumb(i, row(vals, j)[r]))));
    out.push(list("unit-top", "Top " + D.k + " activating examples", U.top_indices, U.top_values));
    out.push(list("unit-bottom", "Bottom " + D.k + " activating examples", U.bottom_indices, U.bottom_values));
    out.push(outgoingTable(j));
    return out;
  }
  function classMeansTable(j) {
    if (!U.class_means) return el("p", { class: "note", text: "No labels: no per-class means." });
    const C = U.class_means.shape[0];
    const vals = Array.from({ length: C }, (_, c) => at(U.class_means, c, j));
    const limit = maxAbs(vals);
    return el("div", {}, el("h3", { text: "Mean activation per class" }),
      el("table", { id: "class-means" }, el("tbody", {}, vals.map((v, c) =>
        el("tr", { "data-class": c, class: c === U.preferred_class[j] ? "best" : null },
          el("th", {}, D.task === "multiclass" ? el("a", { href: "#class/" + c, text: className(c) }) : className(c)),
          el("td", {}, num(v)),
          el("td", { class: "barcell" }, bar(v, limit)))))));
  }
  function outgoingTable(j) {
    const n = D.outputs.length;
    const w = Array.from({ length: n }, (_, o) => at(U.outgoing, o, j));
    const c = Array.from({ length: n }, (_, o) => at(U.mean_contribution, j, o));
    const lw = maxAbs(w), lc = maxAbs(c);
    return el("section", { id: "unit-outgoing" }, el("h3", { text: "To the outputs" }),
      el("p", { class: "note", text: "Weight to each output, and what the unit adds to it on average (mean activation \u00d7 weight)." }),
      el("div", { class: "scroll" }, el("table", { id: "outgoing" }, el("thead", {}, el("tr", {}, el("th", { text: "output" }),
        el("th", { text: "weight" }), el("th", {}), el("th", { text: "mean contribution" }), el("th", {}))),
      el("tbody", {}, w.map((v, o) => el("tr", { "data-output": o },
        el("th", {}, el("a", { href: "#class/" + o, text: D.outputs[o] })),
        el("td", { class: "w" }, num(v)), el("td", { class: "barcell" }, bar(v, lw)),
        el("td", { class: "c" }, num(c[o])), el("td", { class: "barcell" }, bar(c[o], lc))))))));
  }

  // -- Class view ---------------------------------------------------------------
  function renderClass(c) {
    const R = D.recipes[state.by], m = D.n_units, k = Math.min(state.k, m);
    const buttons = ["weight", "contribution"].map((by) => el("button", {
      type: "button", "data-by": by, "aria-pressed": String(state.by === by), text: "by " + by,
      onclick: () => { state.by = by; render(); } }));
    const kInput = el("input", { id: "recipe-k", type: "number", min: 1, max: m, value: k,
      onchange: (e) => { const v = parseInt(e.target.value, 10); if (v >= 1) { state.k = Math.min(v, m); render(); } } });
    const vals = Array.from(row(R.excitatory_values, c).slice(0, k)).concat(Array.from(row(R.inhibitory_values, c).slice(0, k)));
    const limit = maxAbs(vals);
    const list = (id, title, idx, v) => el("section", { class: "recipe" }, el("h3", { text: title }),
      el("ol", { id: id }, Array.from(idx.slice(0, k), (j, r) => el("li", { "data-unit": j, "data-value": String(v[r]) },
        el("div", {}, el("a", { href: "#unit/" + j }, unitPicture(j, "small"), el("span", { class: "cap", text: "unit " + j })),
          num(v[r]), bar(v[r], limit)), flagBadges(j)))));
    const what = state.by === "weight" ? "weight into the output"
      : "mean contribution (activation \u00d7 weight)" + (D.labels ? " over the class's own examples" : " over all examples");
    if (R.missing.includes(c)) {
      return [stepper("class", c, D.outputs.length, D.outputs), el("h2", { text: "Recipe of " + D.outputs[c] }),
        el("p", { class: "controls" }, buttons),
        el("p", { class: "note", id: "recipe-missing",
          text: "No example of this class among the " + D.n_examples + ": no ranking by contribution." })];
    }
    return [stepper("class", c, D.outputs.length, D.outputs),
      el("h2", { text: "Recipe of " + D.outputs[c] }),
      el("p", { class: "controls" }, buttons, el("label", { for: "recipe-k", text: " k = " }), kInput),
      el("p", { class: "note", text: "Units ranked by " + what + "." }),
      el("div", { class: "cols" }, list("recipe-exc", "Excitatory", row(R.excitatory, c), row(R.excitatory_values, c)),
        list("recipe-inh", "Inhibitory", row(R.inhibitory, c), row(R.inhibitory_values, c)))];
  }

  // -- Example view -------------------------------------------------------------
  function renderExample(i) {
    const n = D.n_examples, focus = row(E.focus, i);
    const slot = Math.min(state.slot, focus.length - 1);
    const o = focus[slot];
    const pick = el("input", { id: "example-index", type: "number", min: 0, max: n - 1, value: i,
      onchange: (e) => { const v = parseInt(e.target.value, 10); if (v >= 0 && v < n) location.hash = "#example/" + v; } });
    const head = [stepper("example", i, n),
      el("p", { class: "controls" }, el("label", { for: "example-index", text: "Example " }), pick)];
    const facts = [];
    if (D.labels) facts.push("label ", el("strong", { id: "ex-label", text: className(label(i)) }), "; ");
    if (D.predicted) facts.push("predicted ", el("strong", { id: "ex-pred", text: className(predicted(i)) }), "; ");
    const input = isImage ? el("div", { class: "input" }, inputImage(row(D.inputs, i), D.input.width, D.input.height, "big"))
      : featureTable(row(D.inputs, i));
    const role = (u, s) => (focus.length < 2 ? "" : s === 0 ? " (top output)"
      : D.labels && D.task === "multiclass" && label(i) === u ? " (true class)" : " (runner-up)");
    const slots = Array.from(focus, (u, s) => el("button", { type: "button", "data-slot": s,
      "aria-pressed": String(s === slot), text: D.outputs[u] + role(u, s), onclick: () => { state.slot = s; render(); } }));
    return [head, el("h2", { text: "Example " + i }, el("span", { class: "facts" }, " ", facts)),
      el("div", { class: "cols" }, el("section", {}, el("h3", { text: "Input" }), input), misclassifiedList(i)),
      el("section", { id: "decomposition" }, el("h3", { text: "Why: the logit of " + D.outputs[o] + ", exactly decomposed" }),
        el("p", { class: "controls" }, slots), waterfall(i, slot, o)), attributions(i, focus[0])];
  }
  function featureTable(values) {
    return el("table", { class: "features-table" }, el("tbody", {}, Array.from(values, (v, f) =>
      el("tr", { "data-feature": f }, el("th", { text: D.input.features[f] }), el("td", {}, num(v))))));
  }
  function misclassifiedList(i) {
    if (!D.labels || !D.predicted) return null;
    const title = "Misclassified (" + misclassified.length + " of " + D.n_examples + ")";
    return el("section", { id: "misclassified-box" }, el("h3", { text: title }),
      el("div", { id: "misclassified" }, misclassified.map((j) => el("a", { href: "#example/" + j, "data-index": j,
        class: j === i ? "current" : null, text: j + ": " + className(label(j)) + "\u2192" + className(predicted(j)) }))));
  }
  function waterfall(i, slot, o) {
    const m = D.n_units, contrib = row(E.contributions, i).subarray(slot * m, (slot + 1) * m);
    const bias = E.bias.values[o], total = at(E.pre_activation, i, slot), output = at(E.output, i, slot);
    const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => Math.abs(contrib[b]) - Math.abs(contrib[a]) || a - b);
    const steps = [["bias", "bias", bias]].concat(order.map((j) => [String(j), "unit " + j, contrib[j]]));
    let run = 0, lo = 0, hi = 0;
    const spans = steps.map(([, , v]) => { const s = run; run += v; lo = Math.min(lo, run, s); hi = Math.max(hi, run, s); return [s, run]; });
    lo = Math.min(lo, total); hi = Math.max(hi, total);
    const x = (v) => (100 * (v - lo)) / (hi - lo || 1);
    const limit = maxAbs(steps.map((s) => s[2]));
    const rowEl = (src, name, v, from, to, cls) => {
      const fill = el("span", { class: "wf-bar" });
      fill.style.left = Math.min(x(from), x(to)) + "%";
      fill.style.width = Math.max(0.3, Math.abs(x(to) - x(from))) + "%";
      fill.style.background = cls === "total" ? "#404040" : css((v >= 0 ? 1 : -1) * (0.35 + 0.65 * Math.abs(v) / limit));
      const zero = el("span", { class: "wf-zero" });
      zero.style.left = x(0) + "%";
      const nameEl = src === "bias" || src === "total" ? el("span", { text: name }) : el("a", { href: "#unit/" + src, text: name });
      return el("div", { class: "wf-row " + (cls || ""), "data-source": src, "data-value": String(v) },
        el("span", { class: "wf-name" }, nameEl), el("span", { class: "wf-track" }, zero, fill), num(v));
    };
    return el("div", { class: "waterfall", id: "waterfall", "data-output": o },
      steps.map(([src, name, v], r) => rowEl(src, name, v, spans[r][0], spans[r][1])),
      rowEl("total", "= logit", total, 0, total, "total"),
      el("p", { class: "note" }, "Bias plus the " + m + " contributions (activation \u00d7 weight) add up to the logit ",
        num(total), "; the output (after " + D.activations[D.activations.length - 1] + ") is ", num(output, { id: "wf-output" }), "."));
  }
  function attributions(i, o) {
    if (!AT) return null;
    const sums = row(AT.sums, i), errs = row(AT.completeness_error, i);
    const caption = (mi) => el(isImage ? "figcaption" : "span", { class: "attr-cap" },
      el("strong", { text: AT.methods[mi] }), el("br"), "sum ", num(sums[mi]),
      Number.isFinite(errs[mi]) ? el("span", {}, "; completeness error ", num(errs[mi], { class: "num err" })) : null);
    let body;
    if (isImage) {
      const maps = row(AT.maps, i), d = D.input.width * D.input.height;
      body = el("div", { class: "attr-grid" }, AT.methods.map((mname, mi) => el("figure", { class: "attr", "data-method": mname },
        signedImage(maps.subarray(mi * d, (mi + 1) * d), D.input.width, D.input.height, "big"), caption(mi))));
      body = [legend(AT.limits.values[i], "attribution (one scale for the methods)"), body];
    } else { // one table: a row per feature, a column per method
      const vals = row(AT.values, i), d = D.input.features.length, limit = maxAbs(Array.from(vals));
      body = el("div", { class: "scroll" }, el("table", { class: "features-table", id: "attr-table" },
        el("thead", {}, el("tr", {}, el("th", { text: "feature" }), AT.methods.map((mname, mi) =>
          el("th", { "data-method": mname, colspan: 2 }, caption(mi))))),
        el("tbody", {}, D.input.features.map((f, fi) => el("tr", { "data-feature": fi }, el("th", { text: f }),
          AT.methods.map((mname, mi) => [el("td", { "data-method": mname }, num(vals[mi * d + fi])),
            el("td", { class: "barcell" }, bar(vals[mi * d + fi], limit))]))))));
    }
    return el("section", { id: "attributions" }, el("h3", { text: "Attributions to the input, for " + D.outputs[o] + " (logit)" }), body);
  }

  // -- routing and keys ---------------------------------------------------------
  const VIEWS = ["layer", "unit", "class", "example"];
  const SIZES = { unit: () => D.n_units, class: () => D.outputs.length, example: () => D.n_examples };
  const KEY_OF = { unit: "unit", class: "cls", example: "example" };

  function parseHash() {
    const [name, arg] = location.hash.replace(/^#/, "").split("/");
    const v = VIEWS.includes(name) ? name : "layer";
    if (v !== "layer") {
      const i = parseInt(arg, 10);
      if (Number.isInteger(i) && i >= 0 && i < SIZES[v]()) {
        if (v === "example" && i !== state.example) state.slot = 0;
        state[KEY_OF[v]] = i;
      }
    }
    return v;
  }
  function render() {
    const v = parseHash();
    const body = { layer: renderLayer, unit: () => renderUnit(state.unit), class: () => renderClass(state.cls),
      example: () => renderExample(state.example) }[v]();
    view.replaceChildren(...[body].flat(2).filter(Boolean));
    view.dataset.view = v;
    document.querySelectorAll("#tabs a").forEach((a) => {
      const t = a.dataset.view;
      a.href = "#" + t + (t === "layer" ? "" : "/" + state[KEY_OF[t]]);
      a.setAttribute("aria-current", t === v ? "page" : "false");
    });
  }
  function step(delta) {
    // From the address itself: a key pressed before the last change has been
    // drawn (hashchange fires later) still steps from where the page is going.
    const v = parseHash();
    if (v === "layer") return;
    const n = SIZES[v]();
    location.hash = "#" + v + "/" + ((state[KEY_OF[v]] + delta + n) % n);
  }
  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    const i = "1234".indexOf(e.key);
    if (i >= 0) { location.hash = document.querySelectorAll("#tabs a")[i].getAttribute("href"); }
    else if (e.key === "ArrowRight" || e.key === "j") step(1);
    else if (e.key === "ArrowLeft" || e.key === "k") step(-1);
    else if (e.key === "Backspace") history.back();
    else return;
    e.preventDefault();
  });

  Promise.all(packedIn(D, []).map(decode)).then(() => {
    for (let i = 0; i < D.n_examples; i++) if (D.labels && D.predicted && label(i) !== predicted(i)) misclassified.push(i);
    state.k = Math.min(3, D.n_units);
    window.addEventListener("hashchange", render);
    render();
    document.body.dataset.ready = "1";
    window.mlpinspectReady = performance.now();
  }).catch((err) => {
    view.replaceChildren(el("p", { class: "error", text: "This page could not read its data: " + err }));
    console.error(err);
  });
})();
