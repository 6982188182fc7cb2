# Two commands do all set-up on a fresh machine (Python 3.11+, pip, make):
#   make forecast   create .venv, install mcbattery alone, run the default calibrated forecast
#   make test       create .venv, install mcbattery with the dev extras, run the test suite
# and, for the researcher at the desk:
#   make notebooks  re-execute the research notebooks in place, figures included
#   make docs       build the reference manual and guides into site/ (mkdocs)
#   make lab        open JupyterLab on the notebooks
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DRAWS  ?= 100000
SEED   ?= 0
OUT    ?= out/forecast_baseline.nc
PYTEST_ARGS ?= -n 2

.PHONY: env forecast test notebooks docs lab bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamps are rebuilt whenever the dependency list changes.
$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-core

env: $(VENV)/.installed

# Only what a forecast needs: the package and its core dependencies (NetCDF through scipy).
forecast: $(VENV)/.installed-core
	@mkdir -p $(dir $(OUT))
	$(BIN)/mcbattery forecast --scenario baseline --draws $(DRAWS) --seed $(SEED) --out $(OUT)

test: env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Executed in place with the sizes stored in each notebook's parameters cell; progress bars are
# left out of the stored outputs.
notebooks: env
	MCBATTERY_PROGRESS=0 MPLBACKEND=module://matplotlib_inline.backend_inline $(BIN)/jupyter nbconvert \
	    --to notebook --execute --inplace --ExecutePreprocessor.timeout=3600 notebooks/*.ipynb

docs: env
	$(BIN)/mkdocs build --strict --site-dir site

lab: env
	$(BIN)/jupyter lab notebooks/

bench: env
	$(BIN)/python benchmarks/throughput.py --draws 10000 100000 1000000

clean:
	rm -rf $(VENV) out site .pytest_cache
