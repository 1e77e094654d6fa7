/* forecast: the "What if ...?" panel of report.html: the DOM, the form and its messages, the commands. No network,
   no server, no library.

   Every number comes from the numeric core (whatif_core.js, inlined before this file: ForecastWhatIfCore), which
   computes what forecast/analysis/whatif computes in Python (`forecast whatif`); tests/test_whatif_browser.py
   drives this panel in headless Chromium and checks both agree to 1e-6 on the same draws. Every number from the
   data is shown with textContent: nothing from the data is parsed as HTML. */
(function () {
  "use strict";
  var C = ForecastWhatIfCore;

  // ------------------------------------------------------------------ errors
  function InputError(where, problem, fix) {
    this.message = where + ": " + problem + (fix ? "; " + fix : "");
  }
  function num(text, where, lo, hi, fix, whole) {
    var s = String(text === undefined || text === null ? "" : text).trim();
    var x = s === "" ? NaN : Number(s);
    if (s === "" || x !== x) { throw new InputError(where, JSON.stringify(s) + " is not a number", fix); }
    if (!isFinite(x)) { throw new InputError(where, s + " is not finite", fix); }
    if (x < lo || x > hi) { throw new InputError(where, s + " is outside [" + lo + ", " + hi + "]", fix); }
    if (whole && x !== Math.floor(x)) { throw new InputError(where, s + " is not a whole number", fix); }
    return x;
  }

  // ------------------------------------------------------------------ the embedded draws
  function decode(b64) { // little-endian float32 -> float64 values (exactly the float32 numbers)
    var bin = atob(b64), n = bin.length, bytes = new Uint8Array(n), i;
    for (i = 0; i < n; i++) { bytes[i] = bin.charCodeAt(i); }
    var view = new DataView(bytes.buffer), out = new Float64Array(n / 4);
    for (i = 0; i < out.length; i++) { out[i] = view.getFloat32(4 * i, true); }
    return out;
  }
  function load(el) {
    var P = JSON.parse(el.textContent), arrays = {};
    Object.keys(P.arrays).forEach(function (k) { arrays[k] = decode(P.arrays[k].b64); });
    P.A = arrays;
    return C.withShape(P);
  }

  // ------------------------------------------------------------------ items: validation
  var MASS_RANGE = [0.5, 0.99], betaMemo = {};
  function checkItem(D, it) {
    var i, j, k;
    if (it.kind === "poll") {
      var fixShare = "give the share opposed as a fraction from 0 to 1 (0.85 for 85%)";
      var share = num(it.share, "Poll, share opposed", 0, 1, fixShare, false);
      var n = num(it.n, "Poll, sample size n", 1, 10000000, "give the number of respondents, a whole number from 1",
        true);
      var pollster = it.pollster ? String(it.pollster) : null;
      if (pollster !== null && D.pollsters.indexOf(pollster) < 0) {
        throw new InputError("Poll, pollster", JSON.stringify(pollster) + " is not a pollster of this posterior",
          "choose one of the list or a new pollster");
      }
      return { kind: "poll", share: share, n: n, pollster: pollster };
    }
    var action = String(it.action || "");
    var what = it.kind === "episode" ? "Episode" : "Judgement";
    if (D.actions.indexOf(action) < 0) {
      throw new InputError(what + ", action", JSON.stringify(action) + " is not an action type", "choose one of the list");
    }
    if (it.kind === "episode") {
      var given = {}, order = [];
      Object.keys(it.responses || {}).forEach(function (r) {
        var v = it.responses[r];
        if (v === "" || v === null || v === undefined) { return; }
        if (D.responses.indexOf(r) < 0) {
          throw new InputError("Episode, " + r, JSON.stringify(r) + " is not a response", "use the listed responses");
        }
        given[r] = num(v, "Episode, " + D.labels[D.responses.indexOf(r)], 0, 1, "code 1 (happened) or 0 (did not)", true);
        order.push(r);
      });
      if (!order.length) { throw new InputError("Episode", "no response coded", "code at least one response 0 or 1"); }
      var coded = {};
      order.forEach(function (r) { coded[r] = given[r]; });
      for (i = 0; i < order.length; i++) { // an executed response implies its threat (the evidence loader's rule)
        var r = order[i];
        if (given[r] !== 1) { continue; }
        var anc = D.consts.ancestors[D.responses.indexOf(r)];
        for (j = 0; j < anc.length; j++) {
          if (given[anc[j]] === 0) {
            throw new InputError("Episode, " + anc[j], "coded 0 but " + r + " (which requires it) is coded 1",
              "code " + anc[j] + "=1 or leave it out, or " + r + "=0");
          }
          coded[anc[j]] = 1;
        }
      }
      // in the ontology's order (as forecast whatif lists them), the threats an executed response implies included
      var ordered = D.responses.filter(function (r2) { return r2 in coded; });
      return { kind: "episode", action: action, responses: coded, order: ordered, given: order };
    }
    var response = String(it.response || "");
    if (D.responses.indexOf(response) < 0) {
      throw new InputError("Judgement, response", JSON.stringify(response) + " is not a response",
        "choose one of the list");
    }
    var lower = num(it.lower, "Judgement, lower", 0, 1, "a probability from 0 to 1", false);
    var upper = num(it.upper, "Judgement, upper", 0, 1, "a probability from 0 to 1", false);
    var mass = num(it.mass === undefined || it.mass === "" ? 0.8 : it.mass, "Judgement, mass", MASS_RANGE[0],
      MASS_RANGE[1], "a probability mass from 0.5 to 0.99 (0.8: the range holds 80%)", false);
    if (!(lower > 0 && lower < upper && upper < 1)) {
      throw new InputError("Judgement, lower/upper", "[" + lower + ", " + upper + "] is not a range strictly inside (0, 1)",
        "give 0 < lower < upper < 1, e.g. 0.45 and 0.75");
    }
    var key = lower + " " + upper + " " + mass;
    if (!(key in betaMemo)) {
      try { betaMemo[key] = C.maxentBeta(lower, upper, mass); } catch (e) {
        if (!(e instanceof C.CoreError)) { throw e; }
        if (e.code === "no_beta") { throw new InputError("Judgement, range", "no Beta distribution has mass " + mass +
          " in [" + lower + ", " + upper + "]", "widen the range or lower the mass"); }
        throw new InputError("Judgement, range", "[" + lower + ", " + upper + "] with mass " + mass +
          " is too narrow (a Beta concentration above 1e6)", "widen the range or lower the mass");
      }
    }
    k = betaMemo[key];
    return { kind: "judgement", action: action, response: response, lower: lower, upper: upper, mass: mass,
             alpha: k[0], beta: k[1] };
  }
  function strip(m) { return m.indexOf(".") >= 0 ? m.replace(/0+$/, "").replace(/\.$/, "") : m; }
  function g(x) { // Python's format(x, "g"): 6 significant digits, exponent below 1e-4 and from 1e6
    x = Number(x);
    if (x === 0) { return "0"; }
    var p = x.toExponential(5).split("e"), e = parseInt(p[1], 10);
    if (e < -4 || e >= 6) { return strip(p[0]) + "e" + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e); }
    return strip(x.toFixed(Math.max(0, 5 - e)));
  }
  function spec(it) { // the item as `forecast whatif` writes it
    if (it.kind === "poll") {
      return "share=" + g(it.share) + ",n=" + it.n + (it.pollster ? ",pollster=" + it.pollster : "");
    }
    if (it.kind === "episode") {
      return ["action=" + it.action].concat(it.order.map(function (r) { return r + "=" + it.responses[r]; })).join(",");
    }
    return "action=" + it.action + ",response=" + it.response + ",lower=" + g(it.lower) + ",upper=" + g(it.upper) +
      ",mass=" + g(it.mass);
  }


  // ------------------------------------------------------------------ the computation (the numbers: ForecastWhatIfCore)
  var memo = {};
  function itemLoglik(D, it) {
    var key = it.kind + " " + spec(it);
    if (!(key in memo)) {
      try { memo[key] = C.itemLoglik(D, it); } catch (e) {
        if (!(e instanceof C.CoreError)) { throw e; }
        throw new InputError("Poll, pollster", "a new pollster under zero-sum wording effects " +
          "(model.poll_effects=sum_to_zero) changes the other pollsters' effects, which no reweighting reproduces",
          "choose one of the listed pollsters");
      }
    }
    return memo[key];
  }
  function compute(D, rawItems) {
    var t0 = performance.now();
    var items = rawItems.map(function (it) { return checkItem(D, it); });
    var res = C.answer(D, items.map(function (it) { return itemLoglik(D, it); }));
    res.items = items;
    res.commands = refitCommands(D, items);
    res.ms = performance.now() - t0;
    return res;
  }

  // ------------------------------------------------------------------ the exact answer: commands (whatif.refit_commands)
  var SOURCE = "hypothetical: what-if (forecast whatif / the What if panel of report.html)";
  function quote(s) { // Python's shlex.quote
    s = String(s);
    if (s === "") { return "''"; }
    if (/^[\w@%+=:,./-]+$/.test(s)) { return s; }
    return "'" + s.replace(/'/g, "'\"'\"'") + "'";
  }
  function pct0(x) { return C.roundHalfEven(x * 100) + "%"; }
  function refitCommands(D, items) {
    var day = D.as_of, out = [], newN = 0;
    items.forEach(function (it, i) {
      var summary;
      if (it.kind === "poll") { summary = "Hypothetical poll by " + (it.pollster || "a new pollster") + ": " +
        pct0(it.share) + " opposed (n " + it.n + ")"; }
      else if (it.kind === "episode") { summary = "Hypothetical episode of " + it.action + ", " + it.order.length +
        " response(s) coded"; }
      else { summary = "Hypothetical judgement: P(" + it.response + " | " + it.action + ") in [" + g(it.lower) + ", " +
        g(it.upper) + "]"; }
      var common = "--id E-WHATIF-" + day + "-" + (i + 1) + " --date-known " + day + " --source " + quote(SOURCE) +
        " --summary " + quote(summary);
      if (it.kind === "poll") {
        var name = it.pollster;
        if (name === null) { newN += 1; name = "Hypothetical pollster " + newN; }
        out.push("forecast evidence add poll " + common + " --pollster " + quote(name) + " --date " + day + " --n " +
          it.n + " --share-opposed " + g(it.share));
      } else if (it.kind === "episode") {
        out.push("forecast evidence add episode " + common + " --action-type " + it.action + " --date " + day + " " +
          it.order.map(function (r) { return "--response " + r + "=" + it.responses[r]; }).join(" "));
      } else {
        out.push("forecast evidence add signal " + common + " --actions " + it.action + " --response-id " + it.response +
          " --lower " + g(it.lower) + " --upper " + g(it.upper) + " --mass " + g(it.mass));
      }
    });
    var keep = D.command_tokens.filter(function (t) {
      return !/^(update|scenario|all_scenarios)=/.test(t) && t.charAt(0) !== "-";
    });
    out.push(["forecast"].concat(keep.map(quote)).concat(["scenario=" + D.scenario, "update=refit"]).join(" "));
    return out;
  }
  function cliCommand(D, items) {
    var keep = D.command_tokens.filter(function (t) {
      return !/^(scenario|all_scenarios)=/.test(t) && t.charAt(0) !== "-";
    });
    return ["forecast whatif"].concat(keep.map(quote)).concat(["scenario=" + D.scenario]).concat(items.map(function (it) {
      return "--" + it.kind + " " + quote(spec(it));
    })).join(" ");
  }

  // ------------------------------------------------------------------ the panel
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function pct1(x) { return (100 * x).toFixed(1) + "%"; }
  function points(d) { // a change in percentage points, one decimal; what rounds to zero reads 0.0 (never -0.0 or +0.0)
    var r = Math.round(1000 * d) / 10;
    return r === 0 ? "0.0 pts" : (r > 0 ? "+" : "−") + Math.abs(r).toFixed(1) + " pts";
  }
  var ESS_CAUTION = 0.1; // below this share of the draws, the effective sample is small: a caution
  function fmtK(k) { return k === null ? "—" : k === Infinity ? "∞" : k === -Infinity ? "−∞ (no reweighting)" : k.toFixed(2); }
  function field(parent, label, input) {
    var l = el("label", { "class": "wi-field" });
    l.appendChild(el("span", {}, label));
    l.appendChild(input);
    parent.appendChild(l);
    return input;
  }
  function select(id, options, chosen) { // ``chosen``: the option selected first when it is one of them
    var s = el("select", { id: id });
    options.forEach(function (o) { s.appendChild(el("option", { value: o[0] }, o[1])); });
    if (chosen !== undefined && options.some(function (o) { return o[0] === chosen; })) { s.value = chosen; }
    return s;
  }
  function text(id, placeholder, value) {
    var i = el("input", { id: id, type: "text", inputmode: "decimal", placeholder: placeholder, size: "8" });
    if (value !== undefined) { i.value = value; }
    return i;
  }

  function build(root, D) {
    var items = [];
    var state = { D: D, items: items, last: null };
    var acts = D.actions.map(function (a, i) { return [a, D.action_labels[i]]; });
    var resps = D.responses.map(function (r, i) { return [r, D.labels[i]]; });

    var form = el("form", { id: "whatif-form", "class": "wi-form", novalidate: "" });
    var kindRow = el("div", { "class": "wi-row" });
    var kind = field(kindRow, "Hypothetical evidence", select("whatif-kind", [["poll", "a new poll"],
      ["episode", "a new episode of an action type"], ["judgement", "an analyst's judgement about one cell"]]));
    form.appendChild(kindRow);

    var poll = el("div", { "class": "wi-row", id: "whatif-poll" });
    // real values, not placeholders: "Add" on the untouched form adds this poll
    field(poll, "share opposed (0–1)", text("whatif-poll-share", "0.85", "0.85"));
    field(poll, "sample size n", text("whatif-poll-n", "1000", "1000"));
    field(poll, "pollster", select("whatif-poll-pollster", [["", "a new pollster (its own wording effect)"]].concat(
      D.pollsters.map(function (p) { return [p, p]; }))));
    form.appendChild(poll);

    var ep = el("div", { "class": "wi-row", id: "whatif-episode", hidden: "" });
    field(ep, "action type", select("whatif-episode-action", acts, D.scenario));
    var grid = el("div", { "class": "wi-grid" });
    D.responses.forEach(function (r, i) {
      var s = select("whatif-episode-r-" + i, [["", "—"], ["1", "1 happened"], ["0", "0 did not"]]);
      s.setAttribute("data-response", r);
      field(grid, D.labels[i], s);
    });
    ep.appendChild(grid);
    form.appendChild(ep);

    var ju = el("div", { "class": "wi-row", id: "whatif-judgement", hidden: "" });
    field(ju, "action type", select("whatif-judgement-action", acts, D.scenario));
    field(ju, "response", select("whatif-judgement-response", resps));
    field(ju, "lower", text("whatif-judgement-lower", "0.45", "0.45"));
    field(ju, "upper", text("whatif-judgement-upper", "0.75", "0.75"));
    field(ju, "mass in the range", text("whatif-judgement-mass", "0.8", "0.8"));
    form.appendChild(ju);

    var add = el("button", { type: "submit", id: "whatif-add" }, "Add this hypothetical item");
    form.appendChild(add);
    var err = el("p", { id: "whatif-error", "class": "wi-error", role: "alert" });
    form.appendChild(err);
    root.appendChild(form);

    var list = el("ul", { id: "whatif-items", "class": "wi-items" });
    root.appendChild(list);
    var status = el("p", { id: "whatif-status", "class": "muted" });
    root.appendChild(status);
    var warn = el("div", { id: "whatif-warning", "class": "warn", role: "alert", hidden: "" });
    root.appendChild(warn);
    var caution = el("div", { id: "whatif-caution", "class": "caution", role: "note", hidden: "" });
    root.appendChild(caution);
    var cli = el("p", { "class": "muted" });
    cli.appendChild(el("span", {}, "The same numbers from the command line: "));
    var cliCode = el("code", { id: "whatif-cli" });
    cli.appendChild(cliCode);
    root.appendChild(cli);
    var wrap = el("div", { "class": "table-wrap" });
    var table = el("table", { id: "whatif-table" });
    var head = el("tr");
    var heads = ["Response", "Report (these draws)", "interval", "Hypothetical (after)", "interval", "change"].map(
      function (h, i) { var th = el("th", i && i !== 2 && i !== 4 ? { "class": "num" } : {}, h); head.appendChild(th); return th; });
    var afterHead = heads[3];
    var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
    var tbody = el("tbody"); table.appendChild(tbody);
    wrap.appendChild(table);
    root.appendChild(wrap);

    function show() {
      ["poll", "episode", "judgement"].forEach(function (k) {
        document.getElementById("whatif-" + k).hidden = kind.value !== k;
      });
    }
    kind.addEventListener("change", show);

    function readForm() {
      var k = kind.value, v = function (id) { return document.getElementById(id).value; };
      if (k === "poll") { return { kind: "poll", share: v("whatif-poll-share"), n: v("whatif-poll-n"),
                                   pollster: v("whatif-poll-pollster") || null }; }
      if (k === "episode") {
        var rs = {};
        D.responses.forEach(function (r, i) { var x = v("whatif-episode-r-" + i); if (x !== "") { rs[r] = x; } });
        return { kind: "episode", action: v("whatif-episode-action"), responses: rs };
      }
      return { kind: "judgement", action: v("whatif-judgement-action"), response: v("whatif-judgement-response"),
               lower: v("whatif-judgement-lower"), upper: v("whatif-judgement-upper"), mass: v("whatif-judgement-mass") };
    }

    function render() {
      var res = compute(D, items);
      state.last = res;
      list.textContent = "";
      res.items.forEach(function (it, i) {
        var li = el("li", { "data-index": String(i) });
        li.appendChild(el("span", { "class": "badge muted" }, "hypothetical " + it.kind));
        li.appendChild(el("code", {}, " " + spec(it) + " "));
        if (it.kind === "judgement") {
          li.appendChild(el("span", { "class": "muted" }, "Beta(" + it.alpha.toFixed(2) + ", " + it.beta.toFixed(2) + ") "));
        }
        var rm = el("button", { type: "button", "class": "whatif-remove", "data-index": String(i) }, "remove");
        rm.addEventListener("click", function () { items.splice(i, 1); render(); });
        li.appendChild(rm);
        list.appendChild(li);
      });
      var baseNote = D.A.base_log_ratio ? " This report's posterior is itself a PSIS update (Pareto k " +
        fmtK(res.before_pareto_k) + " on these draws): the hypothetical items' log ratios are added to its own and " +
        "smoothed together." : "";
      status.textContent = (res.items.length ? res.items.length + " hypothetical item(s). " : "No hypothetical item yet. ") +
        "Pareto k " + fmtK(res.pareto_k) + ", effective sample size of the weights " + Math.round(res.ess) + " of " +
        res.draws + " draws (the report's posterior has " + res.total_draws + "); computed in " + Math.round(res.ms) +
        " ms." + baseNote;
      status.setAttribute("data-k", String(res.pareto_k));
      status.setAttribute("data-ess", String(res.ess));
      status.setAttribute("data-ms", String(res.ms));
      warn.textContent = "";
      warn.hidden = res.reliable;
      if (!res.reliable) {
        warn.appendChild(el("strong", {}, "Unreliable: Pareto k " + fmtK(res.pareto_k) + " > " + D.consts.k_max + ". "));
        warn.appendChild(el("span", {}, "These draws cannot represent this evidence (effective sample size " +
          Math.round(res.ess) + " of " + res.draws + "); the numbers below are not an answer. For the exact answer, " +
          "enter the evidence for real and refit — in a copy of the project (FORECAST_HOME=...), because the first " +
          "commands write hypothetical entries into data/evidence/:"));
        warn.appendChild(el("pre", { id: "whatif-commands" }, res.commands.join("\n")));
      }
      // reliable by its Pareto k, yet carried by few draws: the numbers are rough (wide Monte Carlo error)
      caution.textContent = "";
      var few = res.reliable && res.items.length > 0 && res.ess < ESS_CAUTION * res.draws;
      caution.hidden = !few;
      if (few) {
        caution.appendChild(el("strong", {}, "Few draws carry this answer: "));
        caution.appendChild(el("span", {}, "an effective sample size of " + Math.round(res.ess) + " of " + res.draws +
          " draws (" + (100 * res.ess / res.draws).toFixed(0) + "%, under " + (100 * ESS_CAUTION).toFixed(0) +
          "%), although the Pareto k " + fmtK(res.pareto_k) + " is within " + D.consts.k_max + ". The numbers below " +
          "are rough; before a decision rests on them, get the exact answer by a refit (in a copy of the project):"));
        caution.appendChild(el("pre", {}, res.commands.join("\n")));
      }
      cliCode.textContent = cliCommand(D, res.items);
      table.className = res.reliable ? "" : "wi-unreliable"; // the "after" columns greyed: not an answer
      afterHead.textContent = res.reliable ? "Hypothetical (after)" : "Hypothetical (after): UNRELIABLE";
      tbody.textContent = "";
      var order = res.rows.map(function (r, i) { return i; });
      var rank = { response: 0, composite: 1, opinion: 2 };
      var any = res.items.length > 0;
      var moved = function (r) { return Math.abs(r.after_mean - r.before_mean); };
      order.sort(function (a, b) { // with items: the largest change first; before any: the most probable first
        var ra = res.rows[a], rb = res.rows[b];
        return rank[ra.kind] - rank[rb.kind] || (any ? moved(rb) - moved(ra) : 0) ||
          rb.before_mean - ra.before_mean || a - b;
      });
      var top = any ? order[0] : -1; // the largest change of a response, highlighted
      order.forEach(function (i) {
        var r = res.rows[i], tr = el("tr", { "data-id": r.id, "data-kind": r.kind });
        if (i === top && moved(r) >= 0.0005) { tr.className = "wi-top"; }
        ["before_mean", "before_low", "before_high", "after_mean", "after_low", "after_high"].forEach(function (k) {
          tr.setAttribute("data-" + k.replace("_", "-"), String(r[k]));
        });
        tr.appendChild(el("td", {}, r.label));
        tr.appendChild(el("td", { "class": "num" }, pct1(r.before_mean)));
        tr.appendChild(el("td", { "class": "nw muted" }, pct1(r.before_low) + " – " + pct1(r.before_high)));
        tr.appendChild(el("td", { "class": "num" }, pct1(r.after_mean)));
        tr.appendChild(el("td", { "class": "nw muted" }, pct1(r.after_low) + " – " + pct1(r.after_high)));
        tr.appendChild(el("td", { "class": "num" }, any ? points(r.after_mean - r.before_mean) : "—"));
        tbody.appendChild(tr);
      });
      return res;
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      err.textContent = "";
      var it = readForm();
      try { checkItem(D, it); } catch (e) {
        if (e instanceof InputError) { err.textContent = e.message; return; }
        throw e;
      }
      items.push(it);
      try { render(); } catch (e2) {
        items.pop();
        if (e2 instanceof InputError) { err.textContent = e2.message; render(); return; }
        throw e2;
      }
    });
    function setItems(list) { // replace the items (bench/whatif.py): each validated as the form validates it
      list.forEach(function (it) { checkItem(D, it); });
      items.length = 0;
      list.forEach(function (it) { items.push(it); });
      return render();
    }
    show();
    render();
    return { state: state, render: render, setItems: setItems };
  }

  // ------------------------------------------------------------------ start
  var dataEl = document.getElementById("whatif-data"), root = document.getElementById("whatif-app");
  if (!dataEl || !root) { return; }
  var D = load(dataEl);
  D.command_tokens = D.command_tokens || [];
  var ui = build(root, D);
  window.forecastWhatIf = {
    data: D,
    compute: function (items) { return compute(D, items); },
    last: function () { return ui.state.last; },
    items: function () { return ui.state.items.slice(); },
    setItems: function (list) { return ui.setItems(list); },
    spec: spec,
    maxentBeta: C.maxentBeta,
    psisWeights: function (lr) { return C.psisWeights(Float64Array.from(lr)); },
    benchmark: function (n) { // the panel's recomputation time, memo cleared each time (bench/whatif.py)
      var t = [];
      for (var i = 0; i < n; i++) { memo = {}; var t0 = performance.now(); ui.render(); t.push(performance.now() - t0); }
      return t;
    }
  };
})();

