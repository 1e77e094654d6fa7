"""Layer 4, outputs: what the tool writes for people and other tools.

``contract`` (what ``forecast.json`` holds, typed and versioned, where report folders are, the one reader of a
published report: ``docs/report-contract.md``), ``report`` (a report's data and folders; returns what it wrote),
``brief`` (what a decision maker reads first: the question, the bottom line, the evidence's freshness),
``published`` (the published briefs: the last one of a scenario, any earlier one by date, the archive of ad-hoc
ones), ``landing`` (the landing page ``reports/index.html``), ``uptodate`` (what each report folder was made from, and
whether a preview on disk is still the one a run would make), ``figures/`` (every figure: one style, one PNG and SVG
writer, one module per page), ``render/`` (the document model, sections, the HTML and Markdown writers, templates),
``history`` (``reports/history.csv``), ``runs`` (the scheduled runs' ``runs.jsonl`` and their page),
``checks_report`` (``reports/checks/``), ``news`` (the alerts log, Atom feed and digest), ``channels`` (webhook and
e-mail delivery), ``sweep`` (a multirun job's record and the sweep's summary), and the report's What if panel
inlined into ``report.html``: ``whatif_core.js`` (its numbers: the model's terms, PSIS, the weighted HDI, the Beta
solver; no DOM) and ``whatif.js`` (the form, its messages, the commands). Imports the layers below only.
"""
