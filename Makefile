# StoryStream developer commands. `make run` and `make test` are the two set-up commands of the
# README: each creates the virtual environment and installs what it needs on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's dependencies change.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed-dev
	$(BIN)/python -m backend.db.migrate
	@echo ""
	@echo "StoryStream is starting on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/docs)"
	@echo "Stream a first story:"
	@echo "  curl -s -X POST http://$(HOST):$(PORT)/api/v1/children -H 'content-type: application/json' -d '{\"name\":\"Mia\",\"age\":6}'"
	@echo "  curl -N 'http://$(HOST):$(PORT)/api/v1/stories/generate/stream?child_id=1&theme=space'"
	@echo ""
	$(BIN)/uvicorn backend.main:app --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/pytest

check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy backend workflows bench tests

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.stream_bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
