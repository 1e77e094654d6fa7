/* forecast: the numeric core of the "What if ...?" panel of report.html. No DOM, no network, no library.

   A hypothetical piece of evidence reweights the report's embedded posterior draws: its log-likelihood per draw,
   by the model's terms on stored draws (forecast/model/terms.py: poll_loglik, episode_loglik_eta,
   cell_claim_loglik at logit_p), Pareto-smoothed as arviz-stats 1.3 smooths (forecast/model/psis.py on psislw:
   Zhang & Stephens' generalized Pareto fit, tail of 3 sqrt(S) draws, smoothing by the fitted quantiles,
   truncation at the largest raw ratio), summarised as forecast/model/summary.py (weighted mean and HDI); the
   judgement's maximum-entropy Beta as forecast/analysis/whatif/beta.py. tests/test_whatif_core.py runs this file
   in an embedded V8 (mini-racer, no browser) against golden vectors the Python terms produce; the panel
   (whatif.js: the DOM, messages, shell quoting) calls it through the global ForecastWhatIfCore.
   Failures a user can cause are thrown as CoreError(code); the panel words them. */
var ForecastWhatIfCore = (function () {
  "use strict";

  function CoreError(code) { this.code = code; this.message = code; }

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


  // ------------------------------------------------------------------ the maximum-entropy Beta (forecast/analysis/whatif/beta.py: maxent_beta)
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
    if (s === null) { throw new CoreError("no_beta"); }
    var k = Math.exp(s);
    if (k > MAX_CONCENTRATION) { throw new CoreError("too_narrow"); }
    return [mu * k, (1 - mu) * k];
  }


  // ------------------------------------------------------------------ the terms (forecast/model/terms.py)
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
    if (D.consts.house_zero_sum) { // zero-sum wording effects (an ablation): a new pollster's is 0 when it is alone
      if (D.NP > 0) { throw new CoreError("new_pollster_zero_sum"); }
      for (s = 0; s < S; s++) { out[s] = binom(logit(theta[s])); }
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
    var depth = D.consts.chain.length, cells = [], left = D.consts.left_out || [];
    coded = Object.assign({}, coded);
    left.forEach(function (j) { delete coded[D.responses[j]]; }); // model.attribute_cells=leave_out
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
    var eta = D.consts.episode_reference && D.A.eta_reference ? D.A.eta_reference : D.A.eta;
    var ls = new Float64Array(R), llq = new Float64Array(Q), load = D.A.loading;
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

  function itemLoglik(D, it) { // a validated item's log-likelihood per draw
    return it.kind === "poll" ? pollLoglik(D, it) : it.kind === "episode" ? episodeLoglik(D, it) : judgementLoglik(D, it);
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
  function psisWeights(lr) { // forecast.model.psis.psis_weights
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


  // ------------------------------------------------------------------ summaries (forecast.model.summary)
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


  // ------------------------------------------------------------------ the answer (forecast/analysis/whatif/answer.py)
  function uniform(S) { var u = new Float64Array(S); for (var s = 0; s < S; s++) { u[s] = 1 / S; } return u; }
  function answer(D, lls) { // the items' log-likelihoods per draw -> every row before and after, k, ESS
    var S = D.S, s, base = D.A.base_log_ratio || null;
    var before = base ? psisWeights(base) : { w: uniform(S), k: null, ess: S };
    var total = new Float64Array(S);
    if (base) { for (s = 0; s < S; s++) { total[s] = base[s]; } }
    lls.forEach(function (ll) { for (var s2 = 0; s2 < S; s2++) { total[s2] += ll[s2]; } });
    var after = lls.length ? psisWeights(total) : { w: before.w, k: before.k === null ? -Infinity : before.k,
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
             reliable: after.k <= D.consts.k_max, before_pareto_k: before.k };
  }

  function withShape(D) { // the sizes the terms index by (as the panel's loader sets them)
    D.S = D.draws; D.R = D.responses.length; D.C = D.composites.length; D.NA = D.actions.length;
    D.NP = D.pollsters.length;
    return D;
  }

  return { CoreError: CoreError, maxentBeta: maxentBeta, pollLoglik: pollLoglik, episodeLoglik: episodeLoglik,
           judgementLoglik: judgementLoglik, itemLoglik: itemLoglik, psisWeights: psisWeights, weightedHdi: weightedHdi,
           summary: summary, answer: answer, withShape: withShape, roundHalfEven: roundHalfEven, digamma: digamma,
           trigamma: trigamma };
})();
