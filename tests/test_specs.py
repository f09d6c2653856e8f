"""Every design's hardware spec (``hdl/specs``) against the model, and every design proven against it.

The spec is what ``mitchell verify --prove`` trusts, so it is checked by simulation against
``pymodel`` (every pair at 4-5 bits at each parameter's ends, corners and random pairs at 16
and 32 bits), a spec that is wrong by one must be caught by that check, and each design's
proof must pass on the generated unit and fail, with operands on which the design and the
model differ, on a deliberately wrong one (each design's own ``_fault``).
"""

import json

import numpy as np
import pytest

from hdl.spec import check_spec, spec_class
from pymodel import Mitchell
from pymodel.registry import DESIGNS, design_class, make_design
from sim.golden import data_outputs, expected
from sim.prove import prove
from sim.spec_check import check_spec_model

from conftest import run_cli

# a fault of each design's own datapath (hdl/designs/*), not only the shared output step
FAULT = {"mitchell": ("div", "no_borrow"), "mbm": ("mul", "no_correction"), "ilm": ("mul", "last_block"),
         "od": ("mul", "od_xor"), "mitch-w": ("mul", "no_set_one"), "dr-alm": ("mul", "no_compensation"),
         "alm-soa": ("mul", "no_soa_carry"), "realm": ("mul", "lut_entry"), "nearest-one": ("mul", "tie_down"),
         "inzed": ("div", "no_borrow")}


def _ends(cls, width):
    """Configs at each parameter's two ends (signedness alternating), plus the defaults signed."""
    out = [({}, True)]
    for i, p in enumerate(cls.PARAMS):
        lo, hi = p.bounds(width)
        out += [({p.name: lo}, bool(i % 2)), ({p.name: hi}, not i % 2)]
    return out


def test_every_design_has_a_spec_of_each_operator():
    assert set(FAULT) == set(DESIGNS)
    for name in DESIGNS:
        cls = design_class(name)
        assert set(cls.SPEC) == set(cls.OPS), name
        for op in cls.OPS:
            cfg = make_design(name, width=cls.MIN_WIDTH)
            assert spec_class(cfg, op).__module__.startswith("hdl.specs."), name


@pytest.mark.parametrize("name", list(DESIGNS))
def test_spec_matches_the_model_on_every_pair(name):
    """Every pair: the defaults at 5 bits (signed), each parameter at both ends at 4 bits."""
    cls = design_class(name)
    for op in cls.OPS:
        for i in range(len(_ends(cls, 4))):
            w = 5 if i == 0 else 4                      # the defaults at 5 bits, the parameters' ends at 4
            kw, signed = _ends(cls, w)[i]
            cfg = make_design(name, width=w, signed=signed, **kw)
            n, bad = check_spec_model(cfg, op)
            assert n == 1 << (2 * w) and not bad, (cfg.describe(), bad[:3])


@pytest.mark.parametrize("name", list(DESIGNS))
def test_spec_matches_the_model_wide(name):
    """Corners and random pairs at 32 bits (defaults, signed), at 32 bits with every parameter at its low
    end and at 16 bits with every parameter at its high end (ILM: 16 blocks)."""
    cls = design_class(name)
    for op in cls.OPS:
        for w, signed, end in ((32, True, None), (32, False, 0), (16, False, 1)):
            kw = {p.name: p.bounds(w)[end] for p in cls.PARAMS} if end is not None else {}
            cfg = make_design(name, width=w, signed=signed, **kw)
            n, bad = check_spec_model(cfg, op, max_exhaustive_width=0, n_random=30, corner_step=23, seed=w)
            assert n > 100 and not bad, (cfg.describe(), bad[:3])


def test_a_wrong_spec_is_caught():
    """The simulation check can fail: a spec whose magnitude is one too large."""
    from hdl.specs.mbm import MBMSpec

    class Wrong(MBMSpec):
        def magnitude(self, m, ma, mb):
            return super().magnitude(m, ma, mb) + 1

    cfg = make_design("mbm", width=4)
    import sim.spec_check as sc
    orig = sc.spec_for
    sc.spec_for = lambda c, op: Wrong(c)
    try:
        n, bad = check_spec_model(cfg, "mul")
    finally:
        sc.spec_for = orig
    assert bad and all(g[0] != w[0] for _, _, g, w in bad)
    assert all(w[0] == cfg.mul(a, b) for a, b, _, w in bad)


def test_no_spec_is_refused_by_name():
    from pymodel import FloatMitchell
    with pytest.raises(ValueError, match="no hardware specification of 'mul'"):
        check_spec(FloatMitchell(), "mul")
    with pytest.raises(ValueError, match="no hardware specification of 'div' for mbm"):
        check_spec(make_design("mbm", width=8), "div")
    assert spec_class(Mitchell(width=4), "div").__name__ == "MitchellDivSpec"


@pytest.mark.parametrize("name", list(DESIGNS))
def test_prove_every_design(name, tmp_path):
    """Each operator proven at 5 bits (signed for the first, unsigned for the second)."""
    cls = design_class(name)
    for i, op in enumerate(cls.OPS):
        cfg = make_design(name, width=5, signed=(i == 0))
        s = prove(cfg, op, build_root=tmp_path)
        assert s["result"] == "proven", s


@pytest.mark.parametrize("name", list(DESIGNS))
def test_prove_fails_on_each_designs_fault(name, tmp_path):
    """The design's own fault is found, and the operands named: the spec agrees with the model there, the design not."""
    op, fault = FAULT[name]
    kw = {"m": 2} if name == "alm-soa" else {}          # the default m at 5 bits is 0: no set-one adder
    cfg = make_design(name, width=5, signed=name in ("od", "ilm", "inzed"), **kw)
    s = prove(cfg, op, build_root=tmp_path, _fault=fault)
    assert s["result"] == "counterexample", s
    cex = s["counterexample"]
    want = expected(cfg, op, np.int64(cex["a"]), np.int64(cex["b"]))
    assert all(cex[f"spec_{o}"] == int(want[o]) for o in data_outputs(op))
    assert any(cex[f"design_{o}"] != int(want[o]) for o in data_outputs(op))


def test_prove_pipelined_is_the_whole_claim(tmp_path):
    """A 2-stage unit that ignores backpressure (i_ready tied to 1, the pipeline always moving) passes the
    data proof alone (no window with a held output differs), and ``prove(stream=True)`` (what
    ``mitchell verify --prove`` runs) still fails it: the freeze and the handshake proofs name it."""
    cfg = make_design("ilm", width=4)
    good = prove(cfg, "mul", stages=2, build_root=tmp_path / "good", stream=True)
    assert good["result"] == "proven" and good["stream"]["freeze"]["flops"] > 0, good
    bad = prove(cfg, "mul", stages=2, build_root=tmp_path / "bad", stream=True, _fault="drop_beat")
    assert bad["data_result"] == "proven" and bad["result"] == "counterexample", bad
    fr, hs = bad["stream"]["freeze"], bad["stream"]["handshake"]
    assert fr["result"] == "counterexample" and fr["changed"]
    assert hs["result"] == "counterexample" and any("ready" in r["failed"] for r in hs["trace"])


def test_cli_prove_pipelined_reports_every_part(tmp_path):
    rc, out, err = run_cli("verify", "--design", "dr-alm", "--width", "4", "--signed", "--stages", "1", "--prove",
                           "--json", "--build-dir", str(tmp_path))
    assert rc == 0, err
    s = json.loads(out)
    assert s["result"] == "proven" and s["data_result"] == "proven"
    assert s["stream"]["freeze"]["result"] == s["stream"]["handshake"]["result"] == "proven"
