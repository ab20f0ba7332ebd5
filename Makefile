# The two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/llmcontrol

.PHONY: install run test lint bench clean

# llama-cpp-python ships as source only and compiles for the build machine's CPU
# by default; on CPUs with AMX that native build crashes. We build it once per
# checkout for a portable x86-64 feature set (AVX2/FMA/F16C), into var/wheels.
LLAMA_VERSION := 0.3.36
LLAMA_WHEELS := var/wheels
LLAMA_STAMP := $(LLAMA_WHEELS)/.llama-cpp-python-$(LLAMA_VERSION)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

$(LLAMA_STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	mkdir -p $(LLAMA_WHEELS)
	@echo "building llama-cpp-python $(LLAMA_VERSION) (first time only: about 5 minutes)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-deps --no-cache-dir \
		-w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	touch $(LLAMA_STAMP)

$(STAMP): pyproject.toml $(LLAMA_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps --find-links $(LLAMA_WHEELS) \
		--only-binary llama-cpp-python llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/python -m pip install --quiet --find-links $(LLAMA_WHEELS) \
		--only-binary llama-cpp-python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser test drives Debian's Chromium through Playwright (which never downloads a browser).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

run: install
	mkdir -p var
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_registry
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py setup_schedules
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py ensure_dev_admin
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py run_stack

test: install $(CHROMIUM)
	mkdir -p var/static
	DATABASE_URL=$(TEST_DATABASE_URL) DEBUG=true $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	DATABASE_URL=$(TEST_DATABASE_URL) DEBUG=true $(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var
