from django.urls import path

from .views import accounts, merchant, orders, public, wallet

urlpatterns = [
    path("", public.home, name="home"),
    path("language/", public.switch_language, name="language"),
    path("listings/<int:listing_id>", public.listing_detail, name="listing"),
    path("listings/<int:listing_id>/buy", orders.buy, name="listing-buy"),
    path("login/", accounts.login, name="login"),
    path("register/", accounts.register, name="register"),
    path("logout/", accounts.logout, name="logout"),
    path("wallet/", wallet.wallet, name="wallet"),
    path("sandbox/pay/<int:topup_id>", wallet.sandbox_pay, name="sandbox-pay"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<int:order_id>", orders.order_detail, name="order"),
    path("orders/<int:order_id>/confirm", orders.order_confirm, name="order-confirm"),
    path("orders/<int:order_id>/messages", orders.order_message, name="order-message"),
    path("orders/<int:order_id>/deliver", orders.order_deliver, name="order-deliver"),
    path("shop/", merchant.shop, name="merchant-shop"),
    path("shop/listings/", merchant.listings, name="merchant-listings"),
    path("shop/listings/new", merchant.listing_new, name="merchant-listing-new"),
    path("shop/listings/<int:listing_id>/edit", merchant.listing_edit, name="merchant-listing-edit"),
    path("shop/listings/<int:listing_id>/stock", merchant.listing_stock, name="merchant-listing-stock"),
]
