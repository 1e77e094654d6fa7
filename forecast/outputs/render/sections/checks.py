"""Model checks: the "How good are these probabilities?" section of every scenario report (``summary``) and the
checks page of ``forecast check`` (``checks_page``, reports/checks/checks.html and checks.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import H1, H2, Block, Figure, Fold, Items, P, Section, Span, T, Table
from forecast.outputs.render.format import fmt, num, pct, s
from forecast.outputs.render.sections.context import Ctx, claim_names, sorted_responses

COMPARATOR_LABELS = {
    "model": "Published model (as of the day before each episode)",
    "no_claims": "The same without the article's claims",
    "history_only": "The record alone (no claims, polls or signals)",
    "base_rate": "(a) base rate of the response among earlier episodes (Laplace)",
    "base_rate_action": "(b) base rate within earlier episodes of the same action type",
    "article_prior": "(c) article-only prior (hindsight for the cells before the article)",
    "half": "(d) 0.5",
}


# ---------------------------------------------------------------------- the scenario report's section
SENSITIVITY_WORDS = {  # arviz-stats' power-scaling diagnoses, as a reader of the brief would say them
    "potential strong prior / weak likelihood": "rests on the article more than on the record",
    "potential prior-data conflict": "the article and the record disagree",
}
Z_FLAG = 2.58  # Spiegelhalter's z beyond which the probabilities are called off (two-sided 1%)


def _sentences(h: Mapping[str, Any], art: Any, ppc: list[str], loo: Mapping[str, Any]) -> list[list[Span]]:
    """One plain sentence per check."""
    out: list[list[Span]] = []
    bt = h.get("backtest")
    if isinstance(bt, Mapping):
        m, a = bt.get("model") or {}, bt.get("base_rate") or {}
        ml, al = num(m.get("log_score")), num(a.get("log_score"))
        if ml is not None and al is not None:
            better = "better" if ml < al else "no better"
            out.append([Span("strong", "Tested on the past: "),
                         T(f"predicting {s(bt.get('cells'))} recorded outcomes of {s(bt.get('episodes'))} past "
                           f"episodes as the published model would have the day before each, it did {better} "
                           "than the plain rule “what usually happened before”.")])
    z = num(h.get("calibration_z"))
    if z is not None:
        ok = abs(z) <= Z_FLAG
        out.append([Span("strong", "Calibration: "),
                    T("in that test, its probabilities came true about as often as they said." if ok else
                      "in that test, its probabilities came true more or less often than they said: read the "
                      "numbers as rougher than they look.")])
    if isinstance(art, Mapping) and art.get("sentence"):
        out.append([Span("strong", "The article's claims: "), T(s(art.get("sentence")))])
    era = h.get("era_opinion")  # episodes before the poll window sit at an assumed opinion (forecast check's band)
    if isinstance(era, Mapping) and era.get("sentence"):
        out.append([Span("strong", "The assumed opinion of earlier episodes: "), T(s(era.get("sentence")))])
    out.append([Span("strong", "The record: "),
                T("the model reproduces how often each response happened in the past" +
                  (f", except for {', '.join(ppc)}." if ppc else "."))])
    infl = list(loo.get("influential") or [])
    out.append([Span("strong", "Single episodes: "),
                T(f"{len(infl)} past episode(s) weigh heavily on the fit ({', '.join(infl)})." if infl else
                  "no single past episode drives the fit.")])
    flags = num(h.get("prior_flags"))
    if flags:
        out.append([Span("strong", "Where the article is silent: "),
                    T(f"its claims alone imply confident numbers for {flags:.0f} action-response pairs they never "
                      "speak about (the checks page lists them).")])
    return out


def summary(data: Mapping[str, Any], ctx: Ctx | None = None) -> list[Block]:
    """The last ``forecast check`` (reports/checks/) in one plain sentence per check, its technical figures folded;
    this scenario's sensitivity to the article next to each probability; its track record."""
    c = data.get("checks")
    out: list[Block] = [H2("How good are these probabilities?")]
    if not isinstance(c, Mapping):
        return out + [P(T("No model checks yet: run "), Span("code", "forecast check"),
                        T(" (back-test, calibration, predictive checks, prior sensitivity; reports/checks/)."))]
    h = c.get("headline") or {}
    loo = h.get("loo") or {}
    ppc = [ctx.labels.get(str(x), str(x)) if ctx else str(x) for x in h.get("ppc_flags") or []]
    out.append(Items(_sentences(h, c.get("article"), ppc, loo)))
    if c.get("track_record"):
        out.append(P(Span("strong", "This scenario's track record: "), T(str(c["track_record"]))))
    tech: list[Block] = []
    bt = h.get("backtest")
    if isinstance(bt, Mapping):
        m, a, b = bt.get("model") or {}, bt.get("base_rate") or {}, bt.get("base_rate_action") or {}
        half = bt.get("half") or {}
        tech.append(P(T(f"Back-test ({bt.get('cells')} coded cells of {bt.get('episodes')} episodes, each predicted "
                        "by the model as published the day before it): log score "
                        f"{fmt(m.get('log_score'))}, Brier {fmt(m.get('brier'))}; the base rate log "
                        f"{fmt(a.get('log_score'))}, Brier {fmt(a.get('brier'))}; the same action type's base rate log "
                        f"{fmt(b.get('log_score'))}, Brier {fmt(b.get('brier'))}; 0.5 log "
                        f"{fmt(half.get('log_score'))}, Brier {fmt(half.get('brier'))} (lower is better). "
                        f"Miscalibration {fmt(h.get('miscalibration'))}, Spiegelhalter z "
                        f"{fmt(h.get('calibration_z'))} (off beyond "
                        f"±{Z_FLAG}).")))
    vs = loo.get("vs_base_rate_action") or {}
    vs_txt = (f", {num(vs.get('elpd_diff')):+.1f} nats (SE {num(vs.get('se')):.1f}) over the same action type's "
              "base rate" if num(vs.get("elpd_diff")) is not None and num(vs.get("se")) is not None else "")
    z_txt = (f"; leave-one-episode-out calibration: Spiegelhalter z {fmt(h.get('loo_calibration_z'))}"
             if h.get("loo_calibration_z") is not None else "")
    tech.append(P(T(f"Posterior predictive checks flag: {', '.join(h.get('ppc_flags') or []) or 'no response'}; "
                    f"PSIS-LOO over episodes elpd {fmt(loo.get('elpd'))} (SE {fmt(loo.get('se'))}{vs_txt}), "
                    f"influential episodes (Pareto k > 0.7): {', '.join(loo.get('influential') or []) or 'none'}"
                    f"{z_txt}; prior predictive flags: {fmt(h.get('prior_flags'))}.")))
    if data.get("checks_figure"):
        tech.append(Figure("checks_reliability", "Back-test reliability diagram (from forecast check)"))
    tech.append(P(Span("muted", f"From forecast check as of {s(c.get('as_of'))} (posterior "
                                f"{s(c.get('inputs_hash'))}); every check: reports/{s(c.get('link'))}")))
    out.append(Fold("The figures behind these sentences", tech))
    flags = c.get("flags") or {}
    tops = c.get("top_claims") or {}
    names = claim_names(data)
    rows = []
    for r in sorted_responses(data):
        rid = str(r.get("response"))
        diag = str(flags.get(rid) or "")
        top = "; ".join(names.get(str(t[0]), str(t[0])) for t in (tops.get(rid) or [])[:3])
        said = SENSITIVITY_WORDS.get(diag, diag.replace("potential ", ""))
        rows.append([[T(r.get("label"))], [T(pct(r.get("mean")))],
                     [Span("badge", said, "fail") if diag not in ("", "✓") else T("—")], [Span("muted", top)]])
    if rows:
        out.append(Fold("How much each response rests on the article's claims", [
            P(T("Power-scaling the article's claims against the record and the polls: a flag means the number moves "
                "with the claims more than with the evidence.")),
            Table(["Response", "Probability", "Sensitivity to the article", "Claims it depends on most"], rows,
                  "lrlw")]))
    return out


# ---------------------------------------------------------------------- the checks page
def _f(x: Any, nd: int = 3) -> str:
    try:
        return f"{float(x):.{nd}f}"
    except (TypeError, ValueError):
        return "—"


def _table(headers: list[str], rows: list[list[str]], align: str) -> Table:
    return Table(headers, [[[T(c)] for c in r] for r in rows], align)


def checks_page(c: Mapping[str, Any]) -> list[Section]:
    """The checks page of ``forecast check``'s results (checks.json), section by section."""
    return [Section(sid, fn(c)) for sid, fn in (
        ("title", _title), ("backtest", _backtest), ("ppc", _ppc), ("loo", _loo), ("claims", _claims_loo),
        ("prior-check", _prior_check), ("sensitivity", _sensitivity), ("sbc", _sbc),
        ("track-record", _track_record))]


def _title(c: Mapping[str, Any]) -> list[Block]:
    return [H1("Are these probabilities any good? Model checks"),
            P(Span("muted", f"Data as of {c.get('as_of')} · posterior {c.get('inputs_hash')} · "
                            f"{c.get('n_episodes')} coded episodes · command: forecast check"))]


NOT_RUN = "Not run (forecast check --only)."


def _backtest(c: Mapping[str, Any]) -> list[Block]:
    bt = c.get("backtest") or {}
    b: list[Block] = [H2("Back-test: each episode predicted by the model as published the day before it")]
    if not bt.get("ok"):
        return b + [P(T(f"Not run: {bt.get('reason', 'not selected (forecast check --only or --no-backtest)')}."))]
    sc = bt.get("since_claims") or {}
    fits = ", ".join(f"{v.get('n_refits')} ({COMPARATOR_LABELS.get(k, k).split(' (')[0].lower()})"
                     for k, v in (bt.get("lfo") or {}).items())
    b.append(P(T(f"{bt['n_cells']} coded cells of {bt['n_predicted_episodes']} episodes (from "
                 f"{bt['first_predicted']} on, ordered by date), each predicted by the model as a report published "
                 "the day before the episode would have fitted it: the record known that day, the article's claims "
                 "only from their date (before it every article prior, the opinion's and its effect's included, is "
                 "the weakly-informative default), polls from their date and inside that day's poll window, earlier "
                 "episodes at the opinion of their time as seen that day. Beside it, on the same cells: the same "
                 "model without the article's claims (the same record, polls and evidence; until the claims' date "
                 "the same fits) and the record alone. PSIS leave-future-out: exact fits "
                 f"{fits}, {bt.get('n_exact_fits', '—')} distinct (refit at Pareto k > {bt['k_threshold']} or when "
                 "the change is no reweighting; each an ordinary cached fit). "
                 f"{bt.get('after_article', 0)} cell(s) were predicted with the article's claims. Lower is better.")))
    rows = [[COMPARATOR_LABELS.get(k, k), _f(v["log_score"]), _f(v["brier"]), str(v["n"]),
             _f(bt["murphy"][k]["miscalibration"]), _f(bt["murphy"][k]["discrimination"]),
             _f(bt["calibration"][k]["z"], 2)] for k, v in bt["table"].items()]
    b.append(_table(["Forecaster", "Log score", "Brier", "Cells", "Miscalibration (MCB)", "Discrimination (DSC)",
                     "Spiegelhalter z"], rows, "lrrrrrr"))
    unc = next(iter(bt["murphy"].values()))["uncertainty"]
    b.append(P(T(f"Brier = MCB − DSC + UNC (CORP decomposition; UNC = {_f(unc)}). |z| > 2.58 flags "
                 "miscalibration. Out of sample: every probability here was computed without the episode it "
                 "predicts.")))
    b.append(P(Span("strong", "Have the article's claims helped since its date? "), T(sc.get("sentence") or "—")))
    if sc.get("n_cells"):
        b.append(_table(["Cells since the claims", "Episodes", "Log score with / without claims",
                         "Brier with / without", "Difference (log, SE)", "Difference (Brier, SE)",
                         "Cells worse / better"],
                        [[str(sc["n_cells"]), ", ".join(sc.get("episodes") or []),
                          f"{_f(sc['with_claims']['log_score'])} / {_f(sc['without_claims']['log_score'])}",
                          f"{_f(sc['with_claims']['brier'])} / {_f(sc['without_claims']['brier'])}",
                          f"{_f(sc['log_score_diff'])} ({_f(sc.get('log_score_diff_se'))})",
                          f"{_f(sc['brier_diff'])} ({_f(sc.get('brier_diff_se'))})",
                          f"{sc.get('cells_worse')} / {sc.get('cells_better')}"]], "rlllllr"))
        b.append(P(T("The standard errors are over cells; the cells of one episode are not independent, so with a "
                     "few episodes they understate the uncertainty.")))
    b.append(Figure("backtest", "Back-test scores on the same cells"))
    b.append(Figure("reliability", "Back-test reliability of the published model (CORP: PAV-pooled bins, "
                                   "consistency band; out of sample)"))
    b.append(_table(["Forecast range", "Mean forecast", "Observed frequency", "Cells"],
                    [[f"{_f(x['p_low'], 2)}–{_f(x['p_high'], 2)}", _f(x["mean_forecast"]), _f(x["observed"]),
                      str(x["n"])] for x in bt["reliability_bins"]], "lrrr*"))
    return b


def _ppc(c: Mapping[str, Any]) -> list[Block]:
    pp = c.get("ppc")
    if not pp:
        return [H2("Posterior predictive check per response"), P(T(NOT_RUN))]
    return [H2("Posterior predictive check per response"),
            P(T(f"Observed count of coded cells where the response happened against the 90% posterior predictive "
                f"interval. Flagged: {', '.join(pp['flags']) or 'none'}. LOO-PIT over {pp['n_cells']} cells: "
                f"KS p = {_f(pp['loo_pit_ks_p'])}.")),
            _table(["Response", "Cells", "Observed", "Predictive mean", "90% interval", "Flag"],
                   [[r["response"], str(r["cells"]), str(r["observed"]), _f(r["mean"], 1),
                     f"{_f(r['low'], 0)}–{_f(r['high'], 0)}", "OUTSIDE" if r["flag"] else ""] for r in pp["counts"]],
                   "lrrrrl*"),
            Figure("ppc_counts", "Observed counts and 90% predictive intervals"),
            Figure("loo_pit", "LOO-PIT of every coded cell (arviz-plots)")]


def _loo(c: Mapping[str, Any]) -> list[Block]:
    lo = c.get("loo")
    if not lo:
        return [H2("PSIS-LOO over episodes"), P(T(NOT_RUN))]
    vs = lo.get("vs_base_rate_action") or {}
    return [H2("PSIS-LOO over episodes"),
            P(T(f"elpd_loo = {_f(lo['elpd'], 1)} (SE {_f(lo['se'], 1)}), p_loo = {_f(lo['p_loo'], 1)}, "
                f"{lo['n']} episodes, max Pareto k {_f(lo['max_k'], 2)}. Influential (k > 0.7): "
                f"{', '.join(lo['influential']) or 'none'}. Against the same action type's base rate, left out the "
                f"same way (elpd {_f(vs.get('base_rate_action_elpd'), 1)}): {_f(vs.get('elpd_diff'), 1)} nats "
                f"(SE {_f(vs.get('se'), 1)}), paired per episode.")),
            _table(["Episode", "elpd_i", "Pareto k"],
                   [[p["episode"], _f(p["elpd_i"], 2), _f(p["pareto_k"], 2)] for p in lo["per_episode"]], "lrr*"),
            Figure("loo_k", "Pareto k per episode"),
            *_calibration(lo.get("calibration") or {})]


def _calibration(cal: Mapping[str, Any]) -> list[Block]:
    """The leave-one-episode-out calibration: Spiegelhalter z and the CORP/PAV bins, with and without the cells of
    a response whose coding restates an action attribute."""
    if not cal.get("all"):
        return []
    restating = ", ".join(cal.get("restating_responses") or []) or "none"
    out: list[Block] = [P(Span("strong", "Calibration out of sample. "),
                          T("Each coded cell's probability from the posterior without its episode (PSIS weights of "
                            "the episode left out), so that the cell's own outcome has not moved it. Bins of fitted "
                            "(in-sample) probabilities would mislead: an event pushes its own cell out of a low bin. "
                            "The back-test's bins above are out of sample too (leave-future-out)."))]
    rows = []
    for key, label in (("all", "every coded cell"),
                       ("without_restating", f"without the cells that restate an attribute ({restating})")):
        v = cal.get(key)
        if v:
            z = v["spiegelhalter"]
            rows.append([label, str(v["n_cells"]), _f(z["z"], 2), _f(z["p_value"], 3),
                         _f(v["murphy"]["miscalibration"]), _f(v["murphy"]["discrimination"])])
    out.append(_table(["Cells", "n", "Spiegelhalter z", "p", "Miscalibration (MCB)", "Discrimination (DSC)"], rows,
                      "lrrrrr"))
    out.append(Figure("loo_reliability", "Leave-one-episode-out reliability diagram (CORP/PAV, out of sample)"))
    out.append(_table(["Forecast range (LOO)", "Mean forecast", "Observed frequency", "Cells"],
                      [[f"{_f(x['p_low'], 2)}–{_f(x['p_high'], 2)}", _f(x["mean_forecast"]), _f(x["observed"]),
                        str(x["n"])] for x in cal["all"]["reliability_bins"]], "lrrr*"))
    return out


def _claims_loo(c: Mapping[str, Any]) -> list[Block]:
    cl = c.get("claims_loo")
    if not cl:
        return []
    losses = ", ".join(f"{x['episode']} ({_f(x['elpd_diff'], 2)})" for x in cl.get("largest_losses") or [])
    return [H2("PSIS-LOO with and without the article's claims"),
            P(T(f"The published fit against a fit of the same record, polls and evidence without the article's "
                f"claims (posterior {cl.get('inputs_hash_without')}): elpd {_f(cl.get('elpd_with'), 1)} with, "
                f"{_f(cl.get('elpd_without'), 1)} without, difference {_f(cl.get('elpd_diff'), 1)} nats (SE "
                f"{_f(cl.get('se'), 1)}) over {cl.get('n_episodes')} episodes, paired per episode; "
                f"{cl.get('episodes_worse_with_claims')} episode(s) are predicted worse with the claims"
                + (f", most: {losses}" if losses else "") + f" (max Pareto k {_f(cl.get('max_k_with'), 2)} with, "
                f"{_f(cl.get('max_k_without'), 2)} without). The claims postdate almost every episode: this says "
                "whether the record agrees with them, not whether they forecast (the back-test's comparison since "
                "their date does)."))]


def _prior_check(c: Mapping[str, Any]) -> list[Block]:
    pc = c.get("prior_check")
    if not pc:
        return [H2("Prior predictive check against the article"), P(T(NOT_RUN))]
    b: list[Block] = [
        H2("Prior predictive check against the article"),
        P(T("The article-only fit's P(response | action), at the article's reference opinion, against each "
            "claim's elicited 90% range (flag: the prior mean falls outside).")),
        _table(["Claim", "Action", "Response", "Elicited 90%", "Prior mean", "Prior 90%", "Flag"],
               [[f"{r['claim']} ({r['id']})", r["action"], r["response"],
                 f"{_f(r['elicited_low'], 2)}–{_f(r['elicited_high'], 2)}", _f(r["prior_mean"], 2),
                 f"{_f(r['prior_low'], 2)}–{_f(r['prior_high'], 2)}", "FLAG" if r["flag"] else ""]
                for r in pc["claims"]], "lllrrrl"),
        Figure("prior_claims", "Article-only prior against each claim's elicited range")]
    if pc["orderings"]:
        b.append(_table(["Ordering claim", "Lower", "Higher", "P(holds) under the prior"],
                        [[f"{r['claim']} ({r['id']})", r["lower"], r["higher"], _f(r["p_holds"], 2)]
                         for r in pc["orderings"]], "lllr"))
    b.append(P(T(f"Cells no claim speaks about ({pc['n_unclaimed']} of {pc['n_cells']}) where the article-only "
                 "prior is confidently high (> 0.5) or low (< 0.02), with the part of the linear predictor that "
                 "drives it (logit scale):")))
    b.append(_table(["Action", "Response", "Prior mean", "Intercept", "Covariates × slopes", "Cell", "Driver"],
                    [[r["action"], r["response"], _f(r["prior_mean"], 2), _f(r["alpha"], 2), _f(r["xbeta"], 2),
                      _f(r["delta"], 2), r["driver"]] for r in pc["unclaimed_flags"]], "llrrrrl"))
    return b


def _sensitivity(c: Mapping[str, Any]) -> list[Block]:
    b: list[Block] = [H2("Prior sensitivity (power-scaling)")]
    sens = c.get("sensitivity") or {}
    if not sens:
        return b + [P(T(NOT_RUN))]
    counts = (c.get("headline") or {}).get("psense")
    if counts:
        b.append(P(T(f"Flagged: {counts['prior_data_conflict']} of {counts['probabilities']} published probabilities "
                     f"(scenario × response) for potential prior-data conflict, {counts['strong_prior']} for a "
                     "dominant prior (strong prior / weak likelihood).")))
    w = c.get("article_weight")
    if isinstance(w, Mapping) and num(w.get("mean")) is not None:
        b.append(P(Span("strong", "The article's learned weight: "),
                   T(f"{_f(w.get('mean'), 2)} ({pct(w.get('prob'))} interval {_f(w.get('low'), 2)}-"
                     f"{_f(w.get('high'), 2)}; 1 is full weight). Every claim's term takes this power, so "
                     "power-scaling one claim moves the weight and with it every claim: read the flags with that "
                     "in mind.")))
    era = c.get("era_opinion")
    if isinstance(era, Mapping) and era.get("sentence"):
        b.append(P(Span("strong", "The assumed opinion of earlier episodes: "), T(s(era.get("sentence")))))
    b.append(P(T("Per scenario and response: sensitivity of the probability to power-scaling the article's claims "
                 "(prior) and the history and polls (likelihood), arviz-stats' diagnosis at 0.05, and the three "
                 "claims it depends on most when each is power-scaled alone.")))
    for scen, x in sens.items():
        rows = []
        for r, v in x["summary"].items():
            tops = ", ".join(f"{n} ({_f(y, 3)})" for n, y in x["top_claims"].get(r, []))
            rows.append([r, _f(v["prior"]), _f(v["likelihood"]), "" if v["diagnosis"] == "✓" else v["diagnosis"], tops])
        b += [P(Span("strong", scen)),
              _table(["Response", "Prior", "Likelihood", "Diagnosis", "Most influential claims"], rows, "lrrlw")]
    b.append(Figure("psense_claims", "Sensitivity of each response to each claim (configured scenario)"))
    return b


def _sbc(c: Mapping[str, Any]) -> list[Block]:
    if "sbc" not in c:
        return [H2("Simulation-based calibration"),
                P(T("Not run here (heavy): `forecast check --sbc N` or bench/sbc.py; see "
                    "docs/model-checks.md."))]
    x = c["sbc"]
    return [H2("Simulation-based calibration (simuk)"),
            P(T(f"{x['simulations']} simulations, {x['draws']} posterior draws each; chi-square test of "
                f"{x['n_quantities']} rank histograms (Bonferroni at 0.01): min p = {_f(x['min_p'], 4)}; "
                f"flagged: {', '.join(x['flags']) or 'none'}.")),
            Figure("sbc_ecdf", "ECDF-PIT of the SBC ranks")]


def _track_record(c: Mapping[str, Any]) -> list[Block]:
    b: list[Block] = [H2("Track record of resolved branches")]
    for scen, t in (c.get("track_record") or {}).items():
        b.append(P(Span("strong", f"{scen}: "), T(t["summary"])))
    if c.get("carried_over"):
        b.append(P(Span("muted", "Carried over from the previous forecast check of the same posterior: "
                                 + ", ".join(c["carried_over"]))))
    b.append(P(Span("muted", "Timings (s): " + ", ".join(f"{k} {v}" for k, v in c.get("timings", {}).items()))))
    return b
