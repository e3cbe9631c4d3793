# The two commands of the README: `make demo` and `make test`. Everything else is set-up they call.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip

.PHONY: demo test acceptance install kafka-jars lint schemas clean

$(BIN)/spikewatch: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/spikewatch

kafka-jars: install
	$(BIN)/spikewatch kafka fetch

## demo: start an embedded Kafka, a worker and a simulated stream with a regression; Ctrl-C stops it all
demo: kafka-jars
	$(BIN)/spikewatch demo

## test: venv, packages, Kafka jars, then every test (the session fixture starts and stops Kafka)
test: kafka-jars
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not acceptance"

## acceptance: the detection engine's acceptance targets over tuning and held-out seeds (see README)
acceptance: install
	$(BIN)/pytest -m acceptance -rA tests/sim/test_acceptance.py

lint: install
	$(BIN)/ruff check .

schemas: install
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .cache .pytest_cache
