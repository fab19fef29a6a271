import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018  (imports every view and API module now, not at the first request)
# What the worker has loaded lives as long as it does (Django, the apps, their views, ~150,000 objects):
# out of the cyclic collector's sight, its full collections walk only what requests left behind. Each
# one walked them all: 100-500 ms with the GIL held, every thread of the worker stopped (README).
gc.freeze()
