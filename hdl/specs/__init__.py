"""Hardware specifications: every design's model as plain combinational hardware, for proofs.

One file per design (``hdl/specs/<design>.py``), named by the model's ``SPEC``
(``{"mul": "hdl.specs.mbm:MBMSpec"}``) and built as ``Class(config)``; :mod:`hdl.spec`
resolves them.  Each is written from the design's docstring and scalar reference and shares
nothing with the generated hardware (:mod:`hdl.specs.base`).
"""
