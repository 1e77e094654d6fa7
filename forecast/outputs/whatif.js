/* forecast: the "What if ...?" panel of report.html. No network, no server, no library.

   A hypothetical piece of evidence reweights the report's embedded posterior draws: its log-likelihood per
   draw, by the formulas of the Python model (forecast/model/update.py: poll_loglik, cell_claim_loglik;
   forecast/model/likelihood.py: episode_loglik_eta; forecast/model/build.py: marginal_p), Pareto-smoothed as
   arviz-stats 1.3 smooths (psislw: Zhang & Stephens' generalized Pareto fit, tail of 3 sqrt(S) draws,
   smoothing by the fitted quantiles, truncation at the largest raw ratio), summarised as forecast's
   weighted_mean and weighted_hdi. forecast/analysis/whatif.py is the same computation in Python
   (`forecast whatif`); tests/test_whatif_browser.py checks that both agree to 1e-6 on the same draws.
   Every number from the data is shown with textContent: nothing from the data is parsed as HTML. */
(function () {
  "use strict";

  // ------------------------------------------------------------------ numerics (numpy / scipy semantics)
  var LN2 = Math.LN2;
  var LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
  var EPS = 2.220446049250313e-16;
  var TINY = 2.2250738585072014e-308;

  function logaddexp(x, y) { // numpy's npy_logaddexp
    if (x === y) { return x + LN2; }
    var t = x - y;
    if (t > 0) { return x + Math.log1p(Math.exp(-t)); }
    if (t <= 0) { return y + Math.log1p(Math.exp(t)); }
    return t; // NaN
  }
  function logSigmoid(x) { return -logaddexp(0.0, -x); }
  function logit(p) { return Math.log(p / (1 - p)); }
  function log1mexp(x) { // forecast.model.likelihood._log1mexp
    x = Math.min(x, -1e-12);
    return x > -0.6931 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
  }
  function logsumexp(a) { // scipy.special.logsumexp (1.18): the maxima separated out of the sum
    var n = a.length, amax = -Infinity, i;
    for (i = 0; i < n; i++) { if (a[i] !== a[i]) { return NaN; } if (a[i] > amax) { amax = a[i]; } }
    if (amax === Infinity || amax === -Infinity) { return amax; }
    var m = 0, s = 0;
    for (i = 0; i < n; i++) { if (a[i] === amax) { m += 1; } else { s += Math.exp(a[i] - amax); } }
    return Math.log1p(s / m) + Math.log(m) + amax;
  }
  var LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61503916999185, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7];
  function lgamma(x) { // log Gamma(x), x > 0 (Lanczos, g = 7)
    if (x < 0.5) { return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x); }
    x -= 1;
    var a = LANCZOS[0], t = x + 7.5;
    for (var i = 1; i < 9; i++) { a += LANCZOS[i] / (x + i); }
    return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
  }
  function digamma(x) {
    var r = 0;
    while (x < 12) { r -= 1 / x; x += 1; }
    var f = 1 / (x * x);
    return r + Math.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132)))));
  }
  function trigamma(x) {
    var r = 0;
    while (x < 12) { r += 1 / (x * x); x += 1; }
    var f = 1 / (x * x);
    return r + 1 / x + f / 2 + (f / x) * (1 / 6 - f * (1 / 30 - f * (1 / 42 - f * (1 / 30 - f * (5 / 66)))));
  }
  function betaln(a, b) { return lgamma(a) + lgamma(b) - lgamma(a + b); }
  function betacf(a, b, x) { // continued fraction of the incomplete beta (modified Lentz)
    var qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (Math.abs(d) < 1e-300) { d = 1e-300; }
    d = 1 / d;
    var h = d;
    for (var m = 1; m <= 20000; m++) {
      var m2 = 2 * m, aa = m * (b - m) * x / ((qam + m2) * (a + m2));
      d = 1 + aa * d; if (Math.abs(d) < 1e-300) { d = 1e-300; }
      c = 1 + aa / c; if (Math.abs(c) < 1e-300) { c = 1e-300; }
      d = 1 / d; h *= d * c;
      aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
      d = 1 + aa * d; if (Math.abs(d) < 1e-300) { d = 1e-300; }
      c = 1 + aa / c; if (Math.abs(c) < 1e-300) { c = 1e-300; }
      d = 1 / d;
      var del = d * c;
      h *= del;
      if (Math.abs(del - 1) < 1e-16) { break; }
    }
    return h;
  }
  function betainc(a, b, x) { // regularized incomplete beta I_x(a, b)
    if (x <= 0) { return 0; }
    if (x >= 1) { return 1; }
    var lbt = a * Math.log(x) + b * Math.log1p(-x) - betaln(a, b);
    if (x < (a + 1) / (a + b + 2)) { return Math.exp(lbt) * betacf(a, b, x) / a; }
    return 1 - Math.exp(lbt) * betacf(b, a, 1 - x) / b;
  }
  function roundHalfEven(x) { // numpy's round
    var r = Math.round(x);
    if (Math.abs(x - Math.trunc(x)) === 0.5) { r = 2 * Math.round(x / 2); }
    return r;
  }

  // ------------------------------------------------------------------ the maximum-entropy Beta (whatif.maxent_beta)
  var GOLD = (Math.sqrt(5) - 1) / 2, LOG_CONC = [-4.0, 18.0], MAX_CONCENTRATION = 1e6;
  function betaMass(mu, s, lo, hi) {
    var k = Math.exp(s), a = mu * k, b = (1 - mu) * k;
    return betainc(a, b, hi) - betainc(a, b, lo);
  }
  function betaEntropy(a, b) {
    return betaln(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b) + (a + b - 2) * digamma(a + b);
  }
  function concentration(mu, lo, hi, mass) {
    var a = LOG_CONC[0], b = LOG_CONC[1];
    if (betaMass(mu, b, lo, hi) < mass) { return null; }
    if (betaMass(mu, a, lo, hi) >= mass) { return a; }
    for (var i = 0; i < 200; i++) {
      var mid = 0.5 * (a + b);
      if (mid <= a || mid >= b) { break; }
      if (betaMass(mu, mid, lo, hi) < mass) { a = mid; } else { b = mid; }
    }
    return 0.5 * (a + b);
  }
  function entropyAt(mu, lo, hi, mass) {
    var s = concentration(mu, lo, hi, mass);
    if (s === null) { return -Infinity; }
    var k = Math.exp(s);
    return betaEntropy(mu * k, (1 - mu) * k);
  }
  function maxentBeta(lo, hi, mass) {
    var x0 = lo, x3 = hi, x1 = x3 - GOLD * (x3 - x0), x2 = x0 + GOLD * (x3 - x0);
    var f1 = entropyAt(x1, lo, hi, mass), f2 = entropyAt(x2, lo, hi, mass);
    for (var i = 0; i < 200; i++) {
      if (x3 - x0 < 1e-12) { break; }
      if (f1 >= f2) { x3 = x2; x2 = x1; f2 = f1; x1 = x3 - GOLD * (x3 - x0); f1 = entropyAt(x1, lo, hi, mass); }
      else { x0 = x1; x1 = x2; f1 = f2; x2 = x0 + GOLD * (x3 - x0); f2 = entropyAt(x2, lo, hi, mass); }
    }
    var mu = 0.5 * (x0 + x3), s = concentration(mu, lo, hi, mass);
    if (s === null) { throw new InputError("Judgement, range", "no Beta distribution has mass " + mass + " in [" +
      lo + ", " + hi + "]", "widen the range or lower the mass"); }
    var k = Math.exp(s);
    if (k > MAX_CONCENTRATION) { throw new InputError("Judgement, range", "[" + lo + ", " + hi + "] with mass " + mass +
      " is too narrow (a Beta concentration above 1e6)", "widen the range or lower the mass"); }
    return [mu * k, (1 - mu) * k];
  }

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
    P.S = P.draws;
    P.R = P.responses.length;
    P.C = P.composites.length;
    P.NA = P.actions.length;
    P.NP = P.pollsters.length;
    return P;
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
    if (!(key in betaMemo)) { betaMemo[key] = maxentBeta(lower, upper, mass); }
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

  // ------------------------------------------------------------------ the terms (forecast/model/update.py, likelihood.py)
  function pollLoglik(D, it) {
    var S = D.S, out = new Float64Array(S), theta = D.A.theta, house = D.A.house, s, i;
    var n = it.n, y = roundHalfEven(n * it.share);
    var c = lgamma(n + 1) - lgamma(y + 1) - lgamma(n - y + 1);
    var binom = function (eta) { return c - y * logaddexp(0.0, -eta) - (n - y) * logaddexp(0.0, eta); };
    var j = it.pollster === null ? -1 : D.pollsters.indexOf(it.pollster);
    if (j >= 0) {
      for (s = 0; s < S; s++) { out[s] = binom(logit(theta[s]) + house[s * D.NP + j]); }
      return out;
    }
    // a new pollster: its wording effect integrated out on a grid over +-6 prior sds (poll_loglik)
    var sigma = D.consts.sigma_house, G = D.consts.poll_grid, sds = D.consts.poll_grid_sds;
    var start = -sds * sigma, stop = sds * sigma, step = (stop - start) / (G - 1), grid = new Float64Array(G);
    for (i = 0; i < G; i++) { grid[i] = i * step + start; }
    grid[G - 1] = stop;
    var lpc = -Math.log(sigma * Math.sqrt(2 * Math.PI)) + Math.log(grid[1] - grid[0]);
    var prior = new Float64Array(G);
    for (i = 0; i < G; i++) { var z = grid[i] / sigma; prior[i] = -0.5 * (z * z) + lpc; }
    var ll = new Float64Array(G);
    for (s = 0; s < S; s++) {
      var lt = logit(theta[s]);
      for (i = 0; i < G; i++) { ll[i] = binom(lt + grid[i]) + prior[i]; }
      out[s] = logsumexp(ll);
    }
    return out;
  }
  function episodeCells(D, coded) { // forecast.model.build.observed_cells for one episode
    var depth = D.consts.chain.length, cells = [];
    for (var j = 0; j < D.R; j++) {
      var r = D.responses[j];
      if (!(r in coded)) { continue; }
      var mask = [], skip = false, d;
      for (d = 0; d < depth; d++) { mask.push(0); }
      var anc = D.consts.ancestors[j];
      for (d = 0; d < anc.length; d++) {
        var va = coded[anc[d]];
        if (va === 1) { break; }
        if (va === 0) { skip = true; break; }
        mask[d] = 1;
      }
      if (!skip) { cells.push({ resp: j, mask: mask, y: coded[r] }); }
    }
    return cells;
  }
  function episodeLoglik(D, it) {
    var S = D.S, R = D.R, NA = D.NA, out = new Float64Array(S), a = D.actions.indexOf(it.action);
    var nodes = D.consts.episode_nodes, logw = D.consts.episode_log_weights, Q = nodes.length;
    var chain = D.consts.chain, cells = episodeCells(D, it.responses), nc = cells.length;
    if (!nc) { return out; }
    var used = chain.map(function (_, k) { return cells.some(function (c) { return c.mask[k] > 0; }); });
    var ls = new Float64Array(R), llq = new Float64Array(Q), eta = D.A.eta, load = D.A.loading;
    for (var s = 0; s < S; s++) {
      var e0 = (s * NA + a) * R, l0 = s * R;
      for (var q = 0; q < Q; q++) {
        for (var r = 0; r < R; r++) { ls[r] = logSigmoid(eta[e0 + r] + load[l0 + r] * nodes[q]); }
        var ll = 0;
        for (var c = 0; c < nc; c++) {
          var cell = cells[c], lp = ls[cell.resp];
          for (var k = 0; k < chain.length; k++) {
            if (used[k]) { lp = lp + ls[chain[k].idx[cell.resp]] * cell.mask[k]; }
          }
          ll += cell.y === 1 ? lp : log1mexp(lp);
        }
        llq[q] = ll + logw[q];
      }
      out[s] = logsumexp(llq);
    }
    return out;
  }
  function judgementLoglik(D, it) {
    var S = D.S, R = D.R, NA = D.NA, out = new Float64Array(S), a = D.actions.indexOf(it.action);
    var r = D.responses.indexOf(it.response), nodes = D.consts.quad_nodes, w = D.consts.quad_weights;
    var Q = nodes.length, chain = D.consts.chain, eps = D.consts.claim_eps, eta = D.A.eta, load = D.A.loading;
    var mu = digamma(it.alpha) - digamma(it.beta), sd = Math.sqrt(trigamma(it.alpha) + trigamma(it.beta));
    var ls = new Float64Array(R);
    for (var s = 0; s < S; s++) { // marginal_p: P(r | a) with the factor integrated out (node_logp)
      var e0 = (s * NA + a) * R, l0 = s * R, p = 0;
      for (var q = 0; q < Q; q++) {
        for (var j = 0; j < R; j++) { ls[j] = logSigmoid(eta[e0 + j] + load[l0 + j] * nodes[q]); }
        var lq = ls[r];
        for (var k = 0; k < chain.length; k++) { lq = lq + ls[chain[k].idx[r]] * chain[k].mask[r]; }
        p += Math.exp(lq) * w[q];
      }
      var m = logit(Math.min(Math.max(p, eps), 1 - eps)), z = (mu - m) / sd;
      out[s] = -0.5 * (z * z) - Math.log(sd) - LOG_SQRT_2PI;
    }
    return out;
  }

  // ------------------------------------------------------------------ PSIS (arviz-stats 1.3 psislw, r_eff = 1)
  function argsort(a) { // stable: ties in index order
    var idx = new Array(a.length);
    for (var i = 0; i < a.length; i++) { idx[i] = i; }
    idx.sort(function (x, y) { return a[x] < a[y] ? -1 : a[x] > a[y] ? 1 : x - y; });
    return idx;
  }
  function mean(a) { var s = 0; for (var i = 0; i < a.length; i++) { s += a[i]; } return s / a.length; }
  function gpdfit(x) { // Zhang & Stephens (2009) with the weakly informative prior on k (arviz-stats _gpdfit)
    var n = x.length, priorBs = 3, priorK = 10, mEst = 30 + Math.trunc(Math.sqrt(n)), j, i;
    var xstar = x[Math.trunc(n / 4 + 0.5 - 1)];
    if (xstar <= x[0]) { return [NaN, NaN]; }
    var b = new Float64Array(mEst), k = new Float64Array(mEst), len = new Float64Array(mEst);
    for (j = 0; j < mEst; j++) { b[j] = (1 - Math.sqrt(mEst / (j + 1 - 0.5))) / (priorBs * xstar) + 1 / x[n - 1]; }
    for (j = 0; j < mEst; j++) {
      var acc = 0;
      for (i = 0; i < n; i++) { acc += Math.log1p(-b[j] * x[i]); }
      k[j] = acc / n;
      len[j] = n * (Math.log(-b[j] / k[j]) - k[j] - 1);
    }
    var lse = logsumexp(len), wsum = 0, wt = [], bs = [];
    for (j = 0; j < mEst; j++) {
      var wj = Math.exp(len[j] - lse);
      if (wj >= 10 * EPS) { wt.push(wj); bs.push(b[j]); }
    }
    for (j = 0; j < wt.length; j++) { wsum += wt[j]; }
    var bPost = 0;
    for (j = 0; j < wt.length; j++) { bPost += bs[j] * (wt[j] / wsum); }
    var kap = 0;
    for (i = 0; i < n; i++) { kap += Math.log1p(-bPost * x[i]); }
    kap = kap / n;
    var sigma = -kap / bPost;
    kap = (n * kap + priorK * 0.5) / (n + priorK);
    if (kap !== kap) { return [Infinity, NaN]; }
    return [kap, sigma];
  }
  function gpinv(p, kappa, sigma, mu) {
    if (sigma <= 0) { return NaN; }
    if (kappa === 0) { return mu - sigma * Math.log1p(-p); }
    return mu + sigma * Math.expm1(-kappa * Math.log1p(-p)) / kappa;
  }
  function psislw(lr) { // log weights and k, as arviz_stats.base.array_stats.psislw(-lr, r_eff=1)
    var S = lr.length, i, M = S > 225 ? Math.floor(3 * Math.sqrt(S)) : Math.floor(S / 5);
    if (M < 5) { throw new Error("n_draws_tail must be at least 5"); }
    var a = new Float64Array(S), amax = -Infinity;
    for (i = 0; i < S; i++) { if (lr[i] > amax || lr[i] !== lr[i]) { amax = lr[i]; } }
    for (i = 0; i < S; i++) { a[i] = lr[i] - amax; }
    var order = argsort(a), tail = new Float64Array(M), maxTail = -Infinity, minTail = Infinity;
    for (i = 0; i < M; i++) {
      tail[i] = a[order[S - M + i]];
      maxTail = Math.max(maxTail, tail[i]); minTail = Math.min(minTail, tail[i]);
    }
    var cutoff = a[order[S - M - 1]];
    if (Math.abs(maxTail - minTail) < TINY) { throw new Error("All tail values are the same"); }
    var ex = new Float64Array(M), ec = Math.exp(cutoff);
    for (i = 0; i < M; i++) { ex[i] = Math.exp(tail[i]) - ec; }
    var fit = gpdfit(ex), khat = fit[0];
    if (isFinite(khat)) {
      for (i = 0; i < M; i++) {
        var sm = Math.log(gpinv((i + 0.5) / M, khat, fit[1], ec));
        if (sm > maxTail) { sm = maxTail; }
        a[order[S - M + i]] = sm;
      }
    }
    var lse = logsumexp(a);
    for (i = 0; i < S; i++) { a[i] -= lse; }
    return { lw: a, k: khat };
  }
  function psisWeights(lr) { // forecast.model.update.psis_weights
    var S = lr.length, i, w = new Float64Array(S), constant = true;
    for (i = 1; i < S; i++) { if (lr[i] !== lr[0]) { constant = false; break; } }
    if (constant) { for (i = 0; i < S; i++) { w[i] = 1 / S; } return { w: w, k: -Infinity, ess: S }; }
    var lw, k, lrmax = -Infinity;
    for (i = 0; i < S; i++) { lrmax = Math.max(lrmax, lr[i]); }
    try { var res = psislw(lr); lw = res.lw; k = res.k; }
    catch (e) { lw = new Float64Array(S); for (i = 0; i < S; i++) { lw[i] = lr[i] - lrmax; } k = Infinity; }
    var allFinite = true, anyFinite = false;
    for (i = 0; i < S; i++) { if (isFinite(lw[i])) { anyFinite = true; } else { allFinite = false; } }
    if (!isFinite(k) || !allFinite) {
      k = Infinity;
      var l2 = new Float64Array(S);
      for (i = 0; i < S; i++) { l2[i] = anyFinite ? (isFinite(lw[i]) ? lw[i] : -Infinity) : lr[i] - lrmax; }
      lw = l2;
    }
    var m = -Infinity, sum = 0, sq = 0;
    for (i = 0; i < S; i++) { if (lw[i] > m) { m = lw[i]; } }
    for (i = 0; i < S; i++) { w[i] = Math.exp(lw[i] - m); sum += w[i]; }
    for (i = 0; i < S; i++) { w[i] = w[i] / sum; sq += w[i] * w[i]; }
    return { w: w, k: k, ess: 1 / sq };
  }

  // ------------------------------------------------------------------ summaries (forecast.model.update)
  function weightedHdi(x, w, prob) {
    var n = x.length, o = argsort(x), xs = new Float64Array(n), c = new Float64Array(n), i, acc = 0;
    for (i = 0; i < n; i++) { xs[i] = x[o[i]]; acc += w[o[i]]; c[i] = acc; }
    var last = c[n - 1];
    for (i = 0; i < n; i++) { c[i] = c[i] / last; }
    var best = Infinity, bi = -1, bj = -1;
    for (i = 0; i < n; i++) {
      var target = (i === 0 ? 0 : c[i - 1]) + prob - 1e-12, lo = 0, hi = n; // searchsorted(side="left")
      while (lo < hi) { var mid = (lo + hi) >>> 1; if (c[mid] < target) { lo = mid + 1; } else { hi = mid; } }
      if (lo >= n) { continue; }
      var width = xs[lo] - xs[i];
      if (width < best) { best = width; bi = i; bj = lo; }
    }
    return [xs[bi], xs[bj]];
  }
  function column(arr, S, width, j) {
    var x = new Float64Array(S);
    for (var s = 0; s < S; s++) { x[s] = arr[s * width + j]; }
    return x;
  }
  function summary(x, w, prob) {
    var m = 0;
    for (var s = 0; s < x.length; s++) { m += w[s] * x[s]; }
    var h = weightedHdi(x, w, prob);
    return [m, h[0], h[1]];
  }

  // ------------------------------------------------------------------ the computation
  var memo = {};
  function itemLoglik(D, it) {
    var key = it.kind + " " + spec(it);
    if (!(key in memo)) {
      memo[key] = it.kind === "poll" ? pollLoglik(D, it) : it.kind === "episode" ? episodeLoglik(D, it)
        : judgementLoglik(D, it);
    }
    return memo[key];
  }
  function compute(D, rawItems) {
    var t0 = performance.now(), S = D.S, i, s;
    var items = rawItems.map(function (it) { return checkItem(D, it); });
    var base = D.A.base_log_ratio || null, before;
    if (base) { before = psisWeights(base); }
    else { var u = new Float64Array(S); for (s = 0; s < S; s++) { u[s] = 1 / S; } before = { w: u, k: null, ess: S }; }
    var total = new Float64Array(S);
    if (base) { for (s = 0; s < S; s++) { total[s] = base[s]; } }
    items.forEach(function (it) { var ll = itemLoglik(D, it); for (var s2 = 0; s2 < S; s2++) { total[s2] += ll[s2]; } });
    var after = items.length ? psisWeights(total) : { w: before.w, k: before.k === null ? -Infinity : before.k,
                                                      ess: 1 / before.w.reduce(function (a, b) { return a + b * b; }, 0) };
    var rows = [];
    var groups = [["response", D.responses, D.labels, D.A.p, D.R], ["composite", D.composites, D.composite_labels, D.A.pc, D.C],
                  ["opinion", [D.consts.opinion_id], ["Public opposition to US military action (latent share)"], D.A.theta, 1]];
    groups.forEach(function (gr) {
      for (var j = 0; j < gr[1].length; j++) {
        var x = column(gr[3], S, gr[4], j), b = summary(x, before.w, D.hdi_prob), a = summary(x, after.w, D.hdi_prob);
        rows.push({ id: gr[1][j], label: gr[2][j], kind: gr[0], before_mean: b[0], before_low: b[1], before_high: b[2],
                    after_mean: a[0], after_low: a[1], after_high: a[2] });
      }
    });
    return { rows: rows, pareto_k: after.k, ess: after.ess, draws: S, total_draws: D.total_draws,
             reliable: after.k <= D.consts.k_max, items: items, before_pareto_k: before.k,
             commands: refitCommands(D, items), ms: performance.now() - t0 };
  }

  // ------------------------------------------------------------------ the exact answer: commands (whatif.refit_commands)
  var SOURCE = "hypothetical: what-if (forecast whatif / the What if panel of report.html)";
  function quote(s) { // Python's shlex.quote
    s = String(s);
    if (s === "") { return "''"; }
    if (/^[\w@%+=:,./-]+$/.test(s)) { return s; }
    return "'" + s.replace(/'/g, "'\"'\"'") + "'";
  }
  function pct0(x) { return roundHalfEven(x * 100) + "%"; }
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
  function fmtK(k) { return k === null ? "—" : k === Infinity ? "∞" : k === -Infinity ? "−∞ (no reweighting)" : k.toFixed(2); }
  function field(parent, label, input) {
    var l = el("label", { "class": "wi-field" });
    l.appendChild(el("span", {}, label));
    l.appendChild(input);
    parent.appendChild(l);
    return input;
  }
  function select(id, options) {
    var s = el("select", { id: id });
    options.forEach(function (o) { s.appendChild(el("option", { value: o[0] }, o[1])); });
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
    field(poll, "share opposed (0–1)", text("whatif-poll-share", "0.85"));
    field(poll, "sample size n", text("whatif-poll-n", "1000"));
    field(poll, "pollster", select("whatif-poll-pollster", [["", "a new pollster (its own wording effect)"]].concat(
      D.pollsters.map(function (p) { return [p, p]; }))));
    form.appendChild(poll);

    var ep = el("div", { "class": "wi-row", id: "whatif-episode", hidden: "" });
    field(ep, "action type", select("whatif-episode-action", acts));
    var grid = el("div", { "class": "wi-grid" });
    D.responses.forEach(function (r, i) {
      var s = select("whatif-episode-r-" + i, [["", "—"], ["1", "1 happened"], ["0", "0 did not"]]);
      s.setAttribute("data-response", r);
      field(grid, D.labels[i], s);
    });
    ep.appendChild(grid);
    form.appendChild(ep);

    var ju = el("div", { "class": "wi-row", id: "whatif-judgement", hidden: "" });
    field(ju, "action type", select("whatif-judgement-action", acts));
    field(ju, "response", select("whatif-judgement-response", resps));
    field(ju, "lower", text("whatif-judgement-lower", "0.45"));
    field(ju, "upper", text("whatif-judgement-upper", "0.75"));
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
    var cli = el("p", { "class": "muted" });
    cli.appendChild(el("span", {}, "The same numbers in Python: "));
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
      cliCode.textContent = cliCommand(D, res.items);
      table.className = res.reliable ? "" : "wi-unreliable"; // the "after" columns greyed: not an answer
      afterHead.textContent = res.reliable ? "Hypothetical (after)" : "Hypothetical (after): UNRELIABLE";
      tbody.textContent = "";
      var order = res.rows.map(function (r, i) { return i; });
      var rank = { response: 0, composite: 1, opinion: 2 };
      order.sort(function (a, b) {
        var ra = res.rows[a], rb = res.rows[b];
        return rank[ra.kind] - rank[rb.kind] || rb.before_mean - ra.before_mean || a - b;
      });
      order.forEach(function (i) {
        var r = res.rows[i], tr = el("tr", { "data-id": r.id, "data-kind": r.kind });
        ["before_mean", "before_low", "before_high", "after_mean", "after_low", "after_high"].forEach(function (k) {
          tr.setAttribute("data-" + k.replace("_", "-"), String(r[k]));
        });
        tr.appendChild(el("td", {}, r.label));
        tr.appendChild(el("td", { "class": "num" }, pct1(r.before_mean)));
        tr.appendChild(el("td", { "class": "nw muted" }, pct1(r.before_low) + " – " + pct1(r.before_high)));
        tr.appendChild(el("td", { "class": "num" }, pct1(r.after_mean)));
        tr.appendChild(el("td", { "class": "nw muted" }, pct1(r.after_low) + " – " + pct1(r.after_high)));
        var d = 100 * (r.after_mean - r.before_mean);
        tr.appendChild(el("td", { "class": "num" }, (d >= 0 ? "+" : "−") + Math.abs(d).toFixed(1) + " pts"));
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
    maxentBeta: maxentBeta,
    psisWeights: function (lr) { return psisWeights(Float64Array.from(lr)); },
    benchmark: function (n) { // the panel's recomputation time, memo cleared each time (bench/whatif.py)
      var t = [];
      for (var i = 0; i < n; i++) { memo = {}; var t0 = performance.now(); ui.render(); t.push(performance.now() - t0); }
      return t;
    }
  };
})();
