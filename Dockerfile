# The portal's image: gunicorn (web), Celery worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# WeasyPrint needs Pango and HarfBuzz and a font; python-magic needs libmagic;
# gettext compiles the translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
        libmagic1 gettext postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
RUN pip install --no-cache-dir "uv==0.13.9"
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
RUN msgfmt --check --output-file locale/it/LC_MESSAGES/django.mo locale/it/LC_MESSAGES/django.po \
    && DJANGO_SETTINGS_MODULE=selfcare.settings python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 --home-dir /app portal \
    && mkdir -p /app/var/private \
    && chown -R portal /app/var

USER portal
EXPOSE 8000
# Threaded workers: a streamed 90-day report must not be killed at --timeout
# like a sync worker would be in the middle of a long download.
CMD ["gunicorn", "selfcare.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--workers", "3", "--threads", "8", \
     "--timeout", "600", "--graceful-timeout", "30", "--access-logfile", "-"]
