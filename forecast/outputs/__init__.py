"""Layer 4, outputs: report data (``report``), figures (``figures``), HTML/Markdown rendering
(``render``) and the published-forecast history (``history``). Imports the layers below only.
"""
