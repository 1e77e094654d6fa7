"""Layer 4, outputs: what the tool writes for people and other tools.

``report`` (a report's data: the contract of docs/design.md), ``figures/`` (every figure: one style, one PNG and SVG
writer, one module per page), ``render/`` (the document model, sections, the HTML and Markdown writers, templates),
``history`` (``reports/history.csv``), ``checks_report`` (``reports/checks/``), ``analysts`` (the pooled analysts'
section), ``news`` (the alerts log, Atom feed and digest), ``channels`` (webhook and e-mail delivery), ``sweep`` (a
multirun's summary), and the report's What if panel inlined into ``report.html``: ``whatif_core.js`` (its numbers:
the model's terms, PSIS, the weighted HDI, the Beta solver; no DOM) and ``whatif.js`` (the form, its messages, the
commands). Imports the layers below only.
"""
