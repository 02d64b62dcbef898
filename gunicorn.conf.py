"""gunicorn's settings, one place for the image (Dockerfile), docker-compose.yml and benchmarks/status_page.py.

Behind the Caddy proxy of docker-compose.yml; gunicorn itself is never published. The access log goes to
stdout without the query strings of /admin/ (config/gunicorn_logging.py): admin searches carry names,
birth dates and emails.
"""

bind = "0.0.0.0:8000"
workers = 2
worker_class = "gthread"
threads = 4
accesslog = "-"
logger_class = "config.gunicorn_logging.RedactingLogger"
