# The two commands of the README: `make demo` and `make test`. Everything else is set-up they call.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip

.PHONY: demo test acceptance install kafka-jars ops-tools audit bench-e2e bench-memory lint schemas clean

$(BIN)/spikewatch: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/spikewatch

kafka-jars: install
	$(BIN)/spikewatch kafka fetch

# Real Prometheus (promtool) and Alertmanager (amtool) for the deploy/ tests, from Debian's packages.
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
ops-tools:
	@if command -v promtool >/dev/null && command -v amtool >/dev/null; then :; else \
		echo "Installing prometheus and prometheus-alertmanager (Debian packages)..."; \
		$(APT) install -y -q prometheus prometheus-alertmanager >/dev/null \
		|| { $(APT) update -q >/dev/null && $(APT) install -y -q prometheus prometheus-alertmanager >/dev/null; }; \
	fi

## demo: start an embedded Kafka, a worker and a simulated stream with a regression; Ctrl-C stops it all
demo: kafka-jars
	$(BIN)/spikewatch demo

## test: venv, packages, Kafka jars, Prometheus tools, then every test (the session fixture starts and stops Kafka)
test: kafka-jars ops-tools
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not acceptance"

## acceptance: the detection engine's acceptance targets over tuning and held-out seeds (see README)
acceptance: install
	$(BIN)/pytest -m acceptance -rA tests/sim/test_acceptance.py

## audit: known vulnerabilities in the pinned dependencies (needs PyPI's JSON API or OSV to be reachable)
audit:
	$(PYTHON) -m venv .cache/audit-venv && .cache/audit-venv/bin/pip install --quiet pip-audit
	.cache/audit-venv/bin/pip-audit --strict --progress-spinner off -r constraints.txt

## bench-e2e / bench-memory: issue 6's benchmarks (long; results in BENCHMARKS.md)
bench-e2e: kafka-jars
	$(BIN)/python -m bench.e2e --events 2000000 --accounts 100000 --features 30

bench-memory: install
	$(BIN)/python -m bench.memory

lint: install
	$(BIN)/ruff check .

schemas: install
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .cache .pytest_cache
