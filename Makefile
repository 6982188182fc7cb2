# Two commands do all set-up on a fresh machine (Python 3.11+, pip, make):
#   make forecast   create .venv, install mcbattery, run the default calibrated forecast
#   make test       create .venv, install mcbattery with test extras, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DRAWS  ?= 100000
SEED   ?= 0
OUT    ?= out/forecast_baseline.nc
PYTEST_ARGS ?= -n 2

.PHONY: env forecast test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp is rebuilt whenever the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

env: $(VENV)/.installed

forecast: env
	@mkdir -p $(dir $(OUT))
	$(BIN)/mcbattery forecast --scenario baseline --draws $(DRAWS) --seed $(SEED) --out $(OUT)

test: env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: env
	$(BIN)/python benchmarks/throughput.py --draws 10000 100000 1000000

clean:
	rm -rf $(VENV) out .pytest_cache
