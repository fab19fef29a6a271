"""Assembles every app's router under /api/v1."""

from kameng.accounts.api import router as accounts
from kameng.catalog.api import router as catalog
from kameng.clock.api import router as clock
from kameng.orders.api import router as orders
from kameng.wallet.api import router as wallet

from .base import api
from .refunds import router as refunds

for router in (accounts, catalog, wallet, orders, clock, refunds):
    api.add_router("", router)

try:  # apps that add their own routers register them here
    from kameng.evidence.api import router as evidence

    api.add_router("", evidence)
except ImportError:  # pragma: no cover - during bootstrap only
    pass

from kameng.complaints.api import router as complaints  # noqa: E402  (GET /refunds/{id}/complaint)

api.add_router("", complaints)

from kameng.trust.api import router as trust  # noqa: E402  (/policies, /stats, credit, reviews, sanctions)

api.add_router("", trust)

from kameng.security.api import router as security  # noqa: E402  (GET /audit)

api.add_router("", security)
