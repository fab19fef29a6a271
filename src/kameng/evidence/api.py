"""Evidence-assist endpoint for arbitrators: GET /refunds/{id}/assist."""
from ninja import Router

from kameng.accounts.models import Role
from kameng.api.errors import forbidden

router = Router(tags=["evidence"])


@router.get("/refunds/{case_id}/assist", response=dict)
def assist(request, case_id: str):
    """Checklist of the four dimensions, promises, findings, contradictions, buyer risk, reused
    evidence. Arbitrators and admins; the case's own parties get 403, anyone else 404."""
    from kameng.aftersales.services import get_case_for

    from .assist import assist_for

    case = get_case_for(case_id, request.auth)
    if request.auth.role not in (Role.ARBITRATOR, Role.ADMIN):
        raise forbidden("证据辅助分析只对仲裁员开放")
    return assist_for(case)
