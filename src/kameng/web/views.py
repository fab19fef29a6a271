"""Pages. Views call services; they never write models themselves."""
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kameng.wallet.gateways import SandboxGateway, get_gateway
from kameng.wallet.models import Topup
from kameng.wallet import services as wallet_services


def home(request):
    return HttpResponse("kameng")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def sandbox_pay(request, topup_id: int):
    """The sandbox gateway's pay page: "paying" sends a signed notification to our notify endpoint."""
    topup = get_object_or_404(Topup, pk=topup_id, gateway="sandbox")
    if request.method == "GET":
        return render(request, "web/sandbox_pay.html", {"topup": topup})
    gateway: SandboxGateway = get_gateway("sandbox")
    body = gateway.notification_for(topup)
    # The gateway calls us back as an outside party would: signed body, no session.
    result = wallet_services.handle_notification(
        "sandbox", body, {SandboxGateway.SIGNATURE_HEADER: gateway.sign(body)}
    )
    if request.headers.get("Accept", "").startswith("application/json") or request.content_type == "application/json":
        return JsonResponse({"topup": str(result.pk), "status": result.status})
    return render(request, "web/sandbox_pay.html", {"topup": result, "paid": True})
