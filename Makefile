# perfwork: `make demo` sets everything up and runs the main job on the demo data; `make test` runs the tests.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
DEMO_AREA ?= DK-C0001
DEMO_LOG  ?= data/decisions-demo.sqlite
DEMO_PORT ?= 8866
DEMO_BATCH ?= build/demo-batch
# the planted stories (burglary in Dalworth, ...) and a force, as the batch runs for every area
DEMO_BATCH_AREAS ?= DK-C0123,DK-C0201,DK-C0067,DK-C0258,DK-C0001,DK-F21

.PHONY: demo test lint env bench demo-data clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (Python 3.11) on PATH; set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[notebooks,scale,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

env: $(VENV)/.installed

# The main job on the embedded demo data: an area's indicator summary, then its assessment against its peers;
# then the demo boards' decisions (seeded once, into the git-ignored demo log) and whether they worked; then the
# managers' apps on the demo (perfwork serve prints their URLs; Ctrl-C stops it).
demo: env
	$(PY) -m perfwork.cli indicators --area $(DEMO_AREA)
	$(PY) -m perfwork.cli assess --area $(DEMO_AREA)
	$(PY) -m perfwork.cli decisions seed-demo --log $(DEMO_LOG)
	$(PY) -m perfwork.cli decisions review --log $(DEMO_LOG)
	$(PY) -m perfwork.cli batch notebooks/partnership_profile.ipynb --areas $(DEMO_BATCH_AREAS) --out $(DEMO_BATCH) --resume
	$(PY) -m perfwork.cli serve --log $(DEMO_LOG) --port $(DEMO_PORT)

demo-data: env
	$(PY) -m perfwork.cli demo-data

lint: env
	$(VENV)/bin/ruff check perfwork tests benchmarks

test: env lint
	$(PY) -m pytest -q -p no:cacheprovider tests
	$(PY) -m pytest -q -p no:cacheprovider --nbval-lax notebooks

bench: env
	rc=0; for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || { echo "$$b missed its goal"; rc=1; }; done; exit $$rc

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
