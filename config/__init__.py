"""The project's wiring: settings, URLs, WSGI, the Celery app, the admin site and middleware.

No app imports this package (import-linter checks it); apps read configuration through
`django.conf.settings`. The Celery app is loaded with the settings so that `@shared_task` binds to it.
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
