"""Merchant credit (商家信用评级) as the shop endpoints and pages read it.

The stored MerchantCredit row is kept current by kameng.trust.services (facts, sync, refresh);
reading it never recomputes the 90 days unless something happened since or the window moved.
"""

from .services import credit_for_shop, current_credit  # noqa: F401
