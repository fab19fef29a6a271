"""/healthz for load balancers and orchestrators, /metrics for Prometheus (the checks and the
collectors are kameng.ops's).

Both say more than a stranger should see (timer lag, open cases, which dependency is down), so
the details need KAMENG_METRICS_TOKEN as a bearer token; without a configured token they are
open only when `kameng serve` is bound to a loopback address (nobody else can reach it). A
plain /healthz (200 `{"status": "ok"}` / 503 `{"status": "fail"}`) answers everyone.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kameng.ops import metrics as metrics_module
from kameng.ops.health import run_checks


def bound_to_loopback() -> bool:
    """`kameng serve --host` (it passes KAMENG_SERVE_HOST on) is a loopback address."""
    host = settings.SERVE_HOST.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # not served by `kameng serve`, or bound to a name or every address


def may_see_details(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return bound_to_loopback()
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@require_GET
@never_cache
def healthz(request):
    ok, body = run_checks()
    if not may_see_details(request):
        body = {"status": body["status"]}
    return JsonResponse(body, status=200 if ok else 503)


@require_GET
@never_cache
def metrics(request):
    if not may_see_details(request):
        reason = "metrics need the bearer token" if settings.METRICS_TOKEN else "set KAMENG_METRICS_TOKEN"
        return HttpResponse(f"{reason}\n", status=401, content_type="text/plain")
    return HttpResponse(metrics_module.render(), content_type=metrics_module.CONTENT_TYPE)
