"""Every page of the site, in one list (kameng.urls puts the API, the Django admin and i18n first)."""

from django.urls import include, path, re_path

from .views import (
    accounts,
    arbitration,
    audit,
    cases,
    complaints,
    guest,
    integrations,
    merchant,
    operator,
    ops,
    orders,
    public,
    staff_payments,
    statements,
    trust,
    wallet,
)

CASE_ACTIONS = "|".join(cases.ACTIONS)

# The buyer's complaint page: /refunds/<id>/complaint/ (channels, profile form, preview, download).
complaint_patterns = [
    path("refunds/<int:case_id>/complaint/", complaints.complaint_page, name="page"),
    path("refunds/<int:case_id>/complaint/download", complaints.complaint_download, name="download"),
]

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),  # machines: load balancers, orchestrators
    path("metrics", ops.metrics, name="metrics"),  # Prometheus
    path("", include((complaint_patterns, "complaints"))),  # before the case pages under refunds/
    path("rules/", trust.rules_page, name="trust-rules"),
    path("agreement/", trust.agreement_page, name="trust-agreement"),
    path("precedents/", trust.precedents_page, name="trust-precedents"),
    path("staff/consistency/", trust.staff_consistency, name="trust-staff-consistency"),
    path("merchants/<int:shop_id>/", trust.merchant_profile, name="trust-merchant"),
    path("staff/sanctions/", trust.staff_sanctions, name="trust-staff-sanctions"),
    path("staff/audit/", audit.audit_page, name="security-audit"),
    path("", public.home, name="home"),
    path("language/", public.switch_language, name="language"),
    path("listings/<int:listing_id>", public.listing_detail, name="listing"),
    path("listings/<int:listing_id>/buy", orders.buy, name="listing-buy"),
    path("login/", accounts.login, name="login"),
    path("register/", accounts.register, name="register"),
    path("logout/", accounts.logout, name="logout"),
    path("account/security/", accounts.account_security, name="account-security"),
    path("account/security/sign-out-everywhere", accounts.sign_out_everywhere, name="sign-out-everywhere"),
    path("account/email/confirm/<str:token>", accounts.confirm_email, name="confirm-email"),
    path("wallet/", wallet.wallet, name="wallet"),
    path("wallet/statement/", statements.statement, name="wallet-statement"),
    path("sandbox/pay/<int:topup_id>", wallet.sandbox_pay, name="sandbox-pay"),
    path("pay/<str:out_trade_no>/", wallet.pay_page, name="pay"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<int:order_id>", orders.order_detail, name="order"),
    path("orders/<int:order_id>/confirm", orders.order_confirm, name="order-confirm"),
    path("orders/<int:order_id>/pay-balance", orders.order_pay_balance, name="order-pay-balance"),
    # 免注册购买 and 查单 (guest checkout): the session remembers which guest orders it may show.
    path("guest/buy/<int:listing_id>", guest.guest_buy, name="guest-buy"),
    path("guest/orders/<int:order_id>", guest.guest_order, name="guest-order"),
    path("guest/lookup", guest.guest_lookup, name="guest-lookup"),
    path("orders/<int:order_id>/messages", orders.order_message, name="order-message"),
    path("orders/<int:order_id>/deliver", orders.order_deliver, name="order-deliver"),
    path("shop/", merchant.shop, name="merchant-shop"),
    path("shop/listings/", merchant.listings, name="merchant-listings"),
    path("shop/listings/new", merchant.listing_new, name="merchant-listing-new"),
    path("shop/listings/<int:listing_id>/edit", merchant.listing_edit, name="merchant-listing-edit"),
    path("shop/listings/<int:listing_id>/stock", merchant.listing_stock, name="merchant-listing-stock"),
    path("shop/integrations/", integrations.integrations, name="merchant-integrations"),
    path("shop/integrations/channels/<str:kind>/test", integrations.channel_test, name="merchant-channel-test"),
    path("shop/integrations/channels/<str:kind>/delete", integrations.channel_delete, name="merchant-channel-delete"),
    path(
        "shop/integrations/dispatches/<int:dispatch_id>/resend",
        integrations.dispatch_resend,
        name="merchant-dispatch-resend",
    ),
    path(
        "shop/integrations/webhooks/<int:endpoint_id>/delete",
        integrations.webhook_delete,
        name="merchant-webhook-delete",
    ),
    path(
        "shop/integrations/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend",
        integrations.delivery_resend,
        name="merchant-delivery-resend",
    ),
    path(
        "shop/listings/<int:listing_id>/stock/export",
        merchant.listing_stock_export,
        name="merchant-listing-stock-export",
    ),
    # After-sales (售后), arbitration and operator pages.
    path("orders/<int:order_id>/refund", cases.case_open, name="case-open"),
    path("refunds/", cases.my_cases, name="cases"),
    path("refunds/<int:case_id>", cases.case_detail, name="case"),
    path("refunds/<int:case_id>/evidence", cases.evidence_add, name="case-evidence"),
    path("refunds/<int:case_id>/evidence/<int:evidence_id>/file", cases.evidence_file, name="case-evidence-file"),
    path(
        "refunds/<int:case_id>/evidence/<int:evidence_id>/preview", cases.evidence_preview, name="case-evidence-preview"
    ),
    re_path(rf"^refunds/(?P<case_id>[0-9]+)/(?P<action>{CASE_ACTIONS})$", cases.case_action, name="case-action"),
    path("shop/refunds/", cases.merchant_inbox, name="merchant-cases"),
    path("notifications/", cases.notifications, name="notifications"),
    path("arbitration/", arbitration.queue, name="arbitration-queue"),
    path("arbitration/<int:case_id>", arbitration.review, name="arbitration-case"),
    path("arbitration/<int:case_id>/decide", arbitration.decide, name="arbitration-decide"),
    path("staff/", operator.home, name="operator-home"),
    path("staff/policy/", operator.policy, name="operator-policy"),
    path("staff/arbitrators/", operator.arbitrators, name="operator-arbitrators"),
    path("staff/payments/", staff_payments.payment_list, name="staff-payments"),
    path("staff/commission/", statements.commission, name="staff-commission"),
    path("staff/payments/<str:out_trade_no>/recheck", staff_payments.payment_recheck, name="staff-payment-recheck"),
]
