"""The Mitchell configurations the cocotb tests run, shared with the proof benchmark (which proves each one)."""

EXHAUSTIVE_8 = [("mul", dict(width=8)), ("mul", dict(width=8, signed=True)), ("div", dict(width=8)),
                ("div", dict(width=8, signed=True)), ("mul", dict(width=8, frac_bits=3)),
                ("div", dict(width=8, frac_bits=3, signed=True, quotient_frac_bits=4))]

RANDOM_WIDE = [("mul", dict(width=16)), ("div", dict(width=16, signed=True)),
               ("mul", dict(width=24, signed=True, frac_bits=10)), ("div", dict(width=24)),
               ("mul", dict(width=32)), ("div", dict(width=32, signed=True, quotient_frac_bits=31)),
               ("mul", dict(width=12, frac_bits=0))]

PIPELINED = [("mul", dict(width=8, signed=True), 2), ("div", dict(width=16), 3), ("mul", dict(width=32), 5),
             ("div", dict(width=8, signed=True, frac_bits=4), 1), ("mul", dict(width=16, frac_bits=6), 8)]
