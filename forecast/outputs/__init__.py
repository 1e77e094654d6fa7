"""Layer 4, outputs: report data (``report``), figures (``figures/``: every figure, one writer), HTML/Markdown
rendering (``render/``: document model, sections, writers, templates), the published-forecast history
(``history``), the checks page (``checks_report``), the analysts' section (``analysts``), alerts (``news``,
``channels``) and sweep summaries (``sweep``). Imports the layers below only.
"""
