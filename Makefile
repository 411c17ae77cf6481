# samkit: `make demo` runs the main job, `make test` runs the tests; both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.samkit-installed
DEMO_ARGS ?=
LAB_ARGS ?=
TEST_WORKERS ?= 2

.PHONY: setup demo test test-slow lint bench lab clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	SAM2_BUILD_CUDA=0 $(PIP) install --no-build-isolation sam2==1.1.0
	$(PIP) install -e '.[all,test]'  # every extra (pyproject.toml: hf, ultralytics, video, serve, widgets, launchers)
	touch $(STAMP)

demo: setup
	$(PY) experiments/demo.py $(DEMO_ARGS)

test: setup  # two pytest-xdist workers (a file each at a time), one torch thread each
	MPLBACKEND=Agg OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

test-slow: setup
	MPLBACKEND=Agg $(PY) -m pytest -m slow --durations=15

LINT_PATHS ?= samkit tests experiments
lint: setup  # ruff (config in pyproject.toml); fix with: ruff check --fix $(LINT_PATHS) && ruff format $(LINT_PATHS)
	status=0; $(VENV)/bin/ruff check $(LINT_PATHS) || status=1; \
	$(VENV)/bin/ruff format --check $(LINT_PATHS) || status=1; exit $$status

lab: setup  # JupyterLab on notebooks/, loopback only (LAB_ARGS="--port 8890 --no-browser" ...)
	$(PY) -m jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: setup
	$(PY) experiments/bench_wrapper.py
	$(PY) experiments/bench_interactive.py
	$(PY) experiments/bench_widget.py
	$(PY) experiments/bench_generate.py

# wheels for the lent GPU machines (CPython 3.12, x86-64; <= 60 MiB) into .whl/ (git-ignored), with
# .whl/MANIFEST.txt; run there with bash experiments/gpu/run.sh (docs/development.md, "GPU run")
.PHONY: gpu-kit
gpu-kit: setup
	$(PY) experiments/gpu/make_kit.py

# the docs site into site/ (git-ignored): docstring and model-table checks, the notebooks executed as
# CI runs them (QUICK, random weights, CPU) into build/docs/notebooks/, then mkdocs build --strict
.PHONY: docs
DOCS_STAMP := $(VENV)/.samkit-docs-installed
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(PIP) install -e '.[docs]'
	touch $(DOCS_STAMP)

docs: setup $(DOCS_STAMP)
	$(PY) docs/check_docstrings.py
	$(PY) docs/gen_model_table.py --check
	MPLBACKEND=Agg $(PY) docs/execute_notebooks.py
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(PY) -m mkdocs build --strict

clean-venv:
	rm -rf $(VENV)
