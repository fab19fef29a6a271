"""/healthz for load balancers and orchestrators, /metrics for Prometheus (the checks and the
collectors are kameng.ops's)."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kameng.ops import metrics as metrics_module
from kameng.ops.health import run_checks


@require_GET
@never_cache
def healthz(request):
    ok, body = run_checks()
    return JsonResponse(body, status=200 if ok else 503)


@require_GET
@never_cache
def metrics(request):
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
    return HttpResponse(metrics_module.render(), content_type=metrics_module.CONTENT_TYPE)
