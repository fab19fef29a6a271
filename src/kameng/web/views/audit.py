"""The audit page for operators: /staff/audit/ (search, read-only)."""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from kameng.accounts.models import Role
from kameng.errors import DomainError
from kameng.ops import audit


@require_GET
def audit_page(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.role != Role.ADMIN:
        raise PermissionDenied
    filters = {k: request.GET.get(k, "").strip() for k in ("q", "actor", "type")}
    error, page = "", {"data": [], "has_more": False}
    try:
        page = audit.search_entries(**filters, limit=50, starting_after=request.GET.get("starting_after") or None)
    except DomainError as exc:
        error = exc.message()
    next_query = None
    if page["has_more"] and page["data"]:
        next_query = urlencode({**{k: v for k, v in filters.items() if v}, "starting_after": page["data"][-1].id})
    return render(
        request,
        "web/audit/audit.html",
        {
            "filters": filters,
            "entries": page["data"],
            "error": error,
            "next_query": next_query,
            "sources": audit.SOURCES,
        },
    )
