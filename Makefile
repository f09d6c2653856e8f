# Everything a fresh Debian 12 machine needs is installed by `make setup`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && echo sudo || echo NONE))
APT_TOOLS := iverilog:iverilog verilator:verilator yosys:yosys nextpnr-ice40:nextpnr-ice40 chromium:chromium gcc:gcc g++:g++
PYTEST_WORKERS ?= 2

.PHONY: setup tools demo test test-fast bench figures docs clean

setup: tools $(STAMP)

# Install a Debian package for each missing tool (command:package), or say which to install.
tools:
	@missing=""; for pair in $(APT_TOOLS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$(SUDO)" = "NONE" ]; then \
	    echo "error: missing Debian package(s):$$missing. Install them with: apt-get install$$missing" >&2; exit 1; \
	  fi; \
	  echo "installing$$missing with apt-get"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/mitchell demo

test: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS)

test-fast: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow"

bench: setup
	$(PY) benchmarks/bench_errors.py
	$(PY) benchmarks/bench_exact_stats.py
	$(PY) benchmarks/bench_cocotb.py
	$(PY) benchmarks/bench_matmul.py
	$(PY) benchmarks/bench_od_kernel.py
	$(PY) benchmarks/bench_verify.py
	$(PY) benchmarks/bench_onnx.py
	$(PY) benchmarks/bench_finetune.py

# The documentation site (build/site/index.html): the pages in docs/ and the API reference from the docstrings.
docs: setup
	$(VENV)/bin/mkdocs build --strict

# The README's figures (docs/), from the same commands users run.
figures: setup
	$(VENV)/bin/mitchell plot --op mul --width 8 --kind fraction -o docs/fraction_mul_u8.png
	$(VENV)/bin/mitchell plot --op mul --width 16 --kind heatmap --log2 -o docs/heatmap_mul_u16_log2.png
	$(VENV)/bin/mitchell plot --op div --width 8 --kind histogram -o docs/histogram_div_u8.png
	$(VENV)/bin/mitchell plot --kind compare --width 8,12,16 -o docs/compare_8_12_16.png
	$(VENV)/bin/mitchell nn --model mlp --frac-sweep docs/nn_frac_sweep_mlp.png
	$(VENV)/bin/mitchell nn --model cnn --frac-sweep docs/nn_frac_sweep_cnn.png
	$(VENV)/bin/mitchell nn --model mlp --train-multiplier float-mitchell-fp32,float-mitchell-bf16 --curves docs/mfree_mlp.png
	$(VENV)/bin/mitchell nn --model cnn --train-multiplier float-mitchell-fp32,float-mitchell-bf16 --curves docs/mfree_cnn.png
	$(VENV)/bin/mitchell cost --op mul --width 8 --no-fmax --plot docs/pareto_mul.png
	$(VENV)/bin/mitchell compare --width 8,16 --plot docs/pareto_designs.png --power --energy-plot docs/pareto_energy.png

# The demo's outputs (out/), the docs site (build/), and what the package cached in the per-user cache
# (trained models, synthesis results, build folders: `python -m pymodel.cache` prints where).
clean:
	rm -rf out build sim_build .pytest_cache
	-[ -x $(PY) ] && $(PY) -m pymodel.cache --clear
