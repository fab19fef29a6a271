"""Assembles every router under /api/v1 (a composition root: it may import any handler module).

The order is the OpenAPI document's order of tags and paths.
"""

from . import accounts, audit, catalog, clock, complaints, evidence, integrations, payments, statements, trust, wallet
from .base import api
from .orders import router as orders
from .refunds import router as refunds

for router in (
    accounts.router,
    catalog.router,
    wallet.router,
    payments.router,  # /payments/notify/{gateway}
    orders,
    clock.router,
    refunds,  # /refunds…: cases, evidence uploads and manifest
    evidence.router,  # /refunds/{id}/assist, evidence previews
    complaints.router,  # /refunds/{id}/complaint
    trust.router,  # /policies, /stats, credit, reviews, sanctions
    audit.router,  # /audit
    integrations.router,  # /webhooks, /notifications/channels
    statements.router,  # /wallet/statement, /stats/commission
):
    api.add_router("", router)
