# samkit: `make demo` runs the main job, `make test` runs the tests; both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.samkit-installed
DEMO_ARGS ?=
LAB_ARGS ?=
TEST_WORKERS ?= 2

.PHONY: setup demo test test-slow bench lab clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	SAM2_BUILD_CUDA=0 $(PIP) install --no-build-isolation sam2==1.1.0
	$(PIP) install -e '.[test]'
	touch $(STAMP)

demo: setup
	$(PY) experiments/demo.py $(DEMO_ARGS)

test: setup  # two pytest-xdist workers (a file each at a time), one torch thread each
	MPLBACKEND=Agg OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

test-slow: setup
	MPLBACKEND=Agg $(PY) -m pytest -m slow --durations=15

lab: setup  # JupyterLab on notebooks/, loopback only (LAB_ARGS="--port 8890 --no-browser" ...)
	$(PY) -m jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: setup
	$(PY) experiments/bench_wrapper.py
	$(PY) experiments/bench_interactive.py
	$(PY) experiments/bench_widget.py
	$(PY) experiments/bench_generate.py

clean-venv:
	rm -rf $(VENV)
