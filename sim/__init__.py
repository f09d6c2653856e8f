"""Verification of the generated hardware: cocotb benches, exhaustive checks, equivalence and protocol
proofs, mutation testing, design-space sweeps and the HTML report."""
