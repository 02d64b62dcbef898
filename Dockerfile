FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NOTIFIER_VAR_DIR=/var/lib/notifier STATIC_ROOT=/app/staticfiles
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# .dockerignore keeps secrets (.env), personal data (var/, *.sqlite3, test-artifacts/), caches and dev-only
# folders out of the image.
COPY . .
RUN DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput \
 && useradd --system --home /app notifier && mkdir -p /var/lib/notifier && chown notifier /var/lib/notifier
USER notifier
EXPOSE 8000
# gunicorn.conf.py: workers, and an access log without the query strings of /admin/ (names in searches).
CMD ["gunicorn", "config.wsgi", "--config", "gunicorn.conf.py"]
