"""Layer 2, model: the PyMC model (``build``), fitting and the posterior cache (``fit``), and
predictions for any action profile from the stored draws (``predict``). Imports ``forecast.inputs``
and the base modules only.
"""
