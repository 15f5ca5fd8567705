#!/bin/sh
# Pulls the models StoryStream uses into the Ollama server at $OLLAMA_HOST.
#   STORYSTREAM_OLLAMA_MODEL   the story model            (default llama3.2:3b)
#   STORYSTREAM_SAFETY_MODEL   the safety judge, optional (default llama-guard3:1b; "none" skips it)
set -eu

story_model="${STORYSTREAM_OLLAMA_MODEL:-llama3.2:3b}"
safety_model="${STORYSTREAM_SAFETY_MODEL:-llama-guard3:1b}"

echo "waiting for Ollama at ${OLLAMA_HOST:-http://127.0.0.1:11434}"
tries=0
until ollama list >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "Ollama did not answer within 60 s" >&2
    exit 1
  fi
  sleep 1
done

echo "pulling the story model: $story_model"
ollama pull "$story_model"

if [ "$safety_model" != "none" ]; then
  echo "pulling the safety judge: $safety_model"
  ollama pull "$safety_model"
fi
echo "models ready"
