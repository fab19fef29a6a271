"""The audit page for operators: /staff/audit/ (search, read-only)."""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kameng.accounts.models import Role
from kameng.errors import DomainError

from . import audit


def _base_template() -> str:
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    try:
        get_template("web/base.html")
        return "web/base.html"
    except TemplateDoesNotExist:  # pragma: no cover - the web app is always installed
        return "security/standalone.html"


@require_GET
def audit_page(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.role != Role.ADMIN:
        raise PermissionDenied
    filters = {k: request.GET.get(k, "").strip() for k in ("q", "actor", "type")}
    error, page = "", {"data": [], "has_more": False}
    try:
        page = audit.search(**filters, limit=50, starting_after=request.GET.get("starting_after") or None)
    except DomainError as exc:
        error = exc.message()
    next_query = None
    if page["has_more"] and page["data"]:
        from django.utils.http import urlencode

        next_query = urlencode({**{k: v for k, v in filters.items() if v}, "starting_after": page["data"][-1]["id"]})
    return render(
        request,
        "security/audit.html",
        {
            "base_template": _base_template(),
            "filters": filters,
            "entries": page["data"],
            "error": error,
            "next_query": next_query,
            "sources": audit.SOURCES,
        },
    )
