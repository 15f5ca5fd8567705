#!/bin/sh
# The service for the Playwright suite: a fresh database, the scripted story model streaming
# 30 tokens a second (about a reader's pace), and the built app from frontend/dist.
set -e
cd "$(dirname "$0")/../.."
data="frontend/.e2e-service"
rm -rf "$data" && mkdir -p "$data"
export STORYSTREAM_ENV=test
export STORYSTREAM_DATABASE_URL="sqlite+aiosqlite:///$data/storystream.db"
# STORYSTREAM_E2E_PROVIDER=local runs the suite on the embedded story model instead.
export STORYSTREAM_LLM_PROVIDER="${STORYSTREAM_E2E_PROVIDER:-scripted}"
export STORYSTREAM_SCRIPTED_TOKENS_PER_SECOND=30
export STORYSTREAM_SAFETY_JUDGE=none
export STORYSTREAM_REGISTRATION_FREE_ATTEMPTS_PER_ADDRESS=1000
export STORYSTREAM_FAMILY_RUNS_PER_MINUTE=1000
exec .venv/bin/storystream serve --host 127.0.0.1 --port "$1"
