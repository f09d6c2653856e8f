"""Exact error statistics, one module per design: every pair at any width, without visiting the pairs.

A design offers its exact form through ``cfg.exact_form(op)`` (None by default, in
:class:`pymodel.designs.base.Design`): a callable ``f(cfg, op, progress=None) -> dict`` that returns
exactly the keys of the sweep of :func:`pymodel.metrics.error_metrics` (definitions and the tie-break
of the extremes in :mod:`pymodel.metric_defs`, built by :func:`pymodel.metric_defs.exact_result`), with
``method`` "exact" and ``exhaustive`` True.  ``progress``, when given, is called as ``progress(done,
total)`` with units of work just done out of ``total``.  The modules here are imported lazily by the
``exact_form`` methods, so importing a design stays cheap; ``tests/test_exact_forms.py`` checks every
form of the registry against the sweep at widths 2..9.
"""
