# The two commands of the README. Each sets up the virtual environment from the lock file first.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)
# Shell rules call `python -m byteword`: the environment's python must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup demo test clean

$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/snakemake --cores all
	$(BIN)/snakemake --cores 1 --report results/report.html
	@echo "Figures: results/figures/  Tables: results/**/*.parquet  Report: results/report.html"

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf results .snakemake
