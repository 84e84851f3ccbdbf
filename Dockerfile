# The image of Evidence Locker: compose.yaml's web, worker and beat services all run it, each
# with its own command (docs/deploy.md). bin/container-entrypoint prepares each one.

# Stage 1: the project and its dependencies, installed into a virtualenv copied below; pip,
# the build backend and its downloads stay behind in this stage.
FROM python:3.11-slim AS install
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml ./
COPY config ./config
COPY locker ./locker
# Not editable and without the dev extras: what pyproject.toml declares, nothing else.
RUN /opt/venv/bin/pip install .

# Stage 2: what runs.
FROM python:3.11-slim
# The settings find templates/, static/ and locale/ beside config/ (BASE_DIR), so the
# processes run the source tree in /app, which PYTHONPATH puts before the installed copy.
# LOCKER_DATA_DIR is the volume: database (SQLite only), evidence files, keys, the generated
# SECRET_KEY, beat's schedule. STATIC_ROOT is build output, so it stays in the image: a copy
# in the volume would be kept across upgrades and go stale.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOCKER_DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles
# The dossiers' fallback fonts (locker/infra/font_chain.py): Arabic and Hebrew, CJK
# Extensions A and B, emoji in outline; without them those characters print as placeholders.
# ffmpeg: the worker's playable copies of recordings browsers cannot play (AMR call
# recordings; locker/infra/derived.py); without it their pages say so.
# Tesseract with Simplified Chinese and English: the worker reads the text in screenshots
# (locker/infra/ocr.py, docs/ocr.md); without it entry pages say the text cannot be read yet.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-hanazono fonts-symbola \
        ffmpeg tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --user-group --uid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin locker \
    && install -d -o locker -g locker -m 0700 /data
COPY --from=install /opt/venv /opt/venv
WORKDIR /app
COPY manage.py ./
COPY bin/container-entrypoint bin/container-healthcheck ./bin/
COPY config ./config
COPY locker ./locker
COPY templates ./templates
COPY static ./static
COPY locale ./locale
# Build output, made as root and read-only for the app's user. The Django command gets a
# throw-away data dir and SECRET_KEY: importing the settings creates directories there and
# would otherwise write a secret key into the image, the same for every instance.
RUN python -m locker.infra.i18n_compile \
    && LOCKER_DATA_DIR=/tmp/build-data SECRET_KEY=build-only \
        python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build-data \
    && python -m compileall -q config locker
USER locker
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["/app/bin/container-entrypoint"]
# The web service's command, as in compose.yaml (tests/test_compose.py checks they agree).
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
