# egoflow: `make demo` runs the whole workflow on the demo world, `make test` runs the tests.
# Both call `make setup`, which is idempotent: system packages with apt when root, Python packages into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
APT_PACKAGES := ffmpeg git make
# The SLURM test cluster and the report screenshot test.
APT_TEST_PACKAGES := slurm-wlm slurmdbd munge mariadb-server chromium fonts-dejavu-core
STAMP := $(VENV)/.setup-$(shell cat pyproject.toml Makefile | sha1sum | cut -c1-12)

.PHONY: setup system-packages demo test lint format clean-results

setup: system-packages $(STAMP)

system-packages:
	@missing=""; for p in $(APT_PACKAGES) $(APT_TEST_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing with apt:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "Please install these Debian packages (as root: apt-get install$$missing)."; \
		echo "ffmpeg is required; the others are needed only by the SLURM and report tests."; \
		command -v ffmpeg >/dev/null || exit 1; \
	fi

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel
	# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	# llama-cpp-python compiles from source (about 5 minutes on 2 cores, then cached by pip); portable build.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q -e ".[workflow,llm,dev]"
	rm -f $(VENV)/.setup-*
	touch $@

demo: setup
	$(BIN)/snakemake --cores $(CORES) all

test: setup
	# Two workers: workflow tests spend much of their time waiting on subprocesses (tests/conftest.py).
	$(BIN)/pytest -q -n 2 --dist loadgroup tests

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint

format: setup
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile workflow

clean-results:
	rm -rf results logs .snakemake
