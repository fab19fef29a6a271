"""Merchant pages: the shop, listings with their versions, stock upload with a preview."""

import json

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.catalog import services as catalog_services
from kameng.catalog import stock as inventory
from kameng.catalog.models import Listing, ListingVersion, Shop
from kameng.errors import DomainError
from kameng.money import plain_yuan
from kameng.policy.services import get_policy
from kameng.trust.credit import credit_for_shop

from ..forms import ListingForm, ShopForm, StockConfirmForm, StockSettingsForm, StockUploadForm, StockVoidForm
from ..pages import attach_error, error_text, role_required
from ..stock_import import preview
from .public import category_choices

merchant_only = role_required("merchant")


def _shop_of(user) -> Shop | None:
    return Shop.objects.filter(owner=user).first()


def _own_listing(request, listing_id) -> Listing:
    listing = Listing.objects.select_related("shop").filter(pk=listing_id, shop__owner=request.user).first()
    if listing is None:
        raise Http404(_("商品不存在"))
    return listing


@merchant_only
def shop(request):
    current = _shop_of(request.user)
    if request.method == "POST":
        form = ShopForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if current is None:
                    catalog_services.create_shop(
                        acting_user=request.user,
                        name=data["name"],
                        description=data["description"],
                        contact=data["contact"],
                    )
                    messages.success(request, _("店铺已开设。下一步：发布商品。"))
                else:
                    catalog_services.update_shop(current, acting_user=request.user, **data)
                    messages.success(request, _("店铺信息已保存。"))
            except DomainError as exc:
                attach_error(form, exc)
            else:
                return redirect("merchant-shop")
    elif current is not None:
        form = ShopForm(
            initial={
                "name": current.name,
                "description": current.description,
                "contact": current.contact,
                "response_promise_hours": current.response_promise_hours,
                "refund_promise_hours": current.refund_promise_hours,
            }
        )
    else:
        form = ShopForm()
    context = {"shop": current, "form": form}
    if current is not None:
        context["credit"] = credit_for_shop(current)
        context["listing_count"] = current.listings.count()
        context["to_deliver"] = current.orders.filter(status="paid").count()
    return render(request, "web/merchant/shop.html", context)


@merchant_only
def listings(request):
    current = _shop_of(request.user)
    if current is None:
        messages.info(request, _("请先开设店铺"))
        return redirect("merchant-shop")
    rows = current.listings.annotate(
        stock_available=Count("stock", filter=Q(stock__order__isnull=True, stock__voided_at__isnull=True))
    ).order_by("-pk")
    return render(request, "web/merchant/listings.html", {"shop": current, "listings": rows})


@merchant_only
def listing_new(request):
    current = _shop_of(request.user)
    if current is None:
        messages.info(request, _("请先开设店铺"))
        return redirect("merchant-shop")
    policy = get_policy()
    if request.method == "POST":
        form = ListingForm(request.POST, categories=category_choices())
        if form.is_valid():
            try:
                listing = catalog_services.create_listing(acting_user=request.user, **form.cleaned_data)
            except DomainError as exc:
                attach_error(form, exc)
            else:
                _saved_message(request, listing)
                return redirect("merchant-listing-edit", listing_id=listing.pk)
    else:
        form = ListingForm(
            categories=category_choices(),
            initial={
                "after_sale_days": policy.default_after_sale_days,
                "verification_minutes": policy.default_verification_minutes,
            },
        )
    return render(request, "web/merchant/listing_form.html", {"form": form, "listing": None})


def _saved_message(request, listing) -> None:
    if listing.warnings:
        messages.warning(
            request, _("已保存为第 %(version)d 版，但发现对买家无效的霸王条款，请修改。") % {"version": listing.version}
        )
    else:
        messages.success(request, _("已保存为第 %(version)d 版。") % {"version": listing.version})


@merchant_only
def listing_edit(request, listing_id: int):
    listing = _own_listing(request, listing_id)
    if request.method == "POST":
        form = ListingForm(request.POST, categories=category_choices())
        if form.is_valid():
            try:
                listing = catalog_services.update_listing(listing, acting_user=request.user, **form.cleaned_data)
            except DomainError as exc:
                attach_error(form, exc)
            else:
                _saved_message(request, listing)
                return redirect("merchant-listing-edit", listing_id=listing.pk)
    else:
        form = ListingForm(
            categories=category_choices(),
            initial={
                "title": listing.title,
                "category": listing.category,
                "kind": listing.kind,
                "price": plain_yuan(listing.price),
                "description": listing.description,
                "promises": "\n".join(listing.promises),
                "after_sale_days": listing.after_sale_days,
                "verification_minutes": listing.verification_minutes,
                "no_reason_refund": listing.no_reason_refund,
                "deposit_percent": listing.deposit_percent,
                "status": listing.status,
            },
        )
    versions = ListingVersion.objects.filter(listing=listing).order_by("-version")
    return render(
        request,
        "web/merchant/listing_form.html",
        {
            "form": form,
            "listing": listing,
            "versions": versions,
            "stock": catalog_services.available_stock(listing) if listing.kind == "card_key" else None,
        },
    )


# Lazy: read in the request's language, not the one active when the module was imported.
INVALID_REASONS = {"too_long": gettext_lazy("超过2000个字符"), "control_character": gettext_lazy("含有控制字符")}


@merchant_only
def listing_stock(request, listing_id: int):
    """Card keys: paste or choose a file → preview (count, duplicates, invalid lines) → confirm;
    the delivery order and low-stock threshold; voiding and exporting unsold keys."""
    listing = _own_listing(request, listing_id)
    context = {"listing": listing, "stock": catalog_services.available_stock(listing)}
    if listing.kind != "card_key":
        context["not_card_key"] = True
        return render(request, "web/merchant/stock.html", context)
    form = StockUploadForm()
    step = request.POST.get("step") if request.method == "POST" else None
    settings_form = StockSettingsForm(
        request.POST if step == "settings" else None,
        initial={"delivery_order": listing.delivery_order, "low_stock_threshold": listing.low_stock_threshold},
    )
    void_form = StockVoidForm(request.POST if step == "void" else None)
    if step == "confirm":
        confirm_form = StockConfirmForm(request.POST)
        if confirm_form.is_valid():
            items = confirm_form.cleaned_data["items_text"]
            try:
                result = catalog_services.add_stock(listing, acting_user=request.user, items=items)
            except DomainError as exc:
                form = StockUploadForm(initial={"text": "\n".join(items)})
                context["error"] = error_text(exc)
            else:
                messages.success(
                    request,
                    _("已添加 %(added)d 条卡密，跳过重复 %(duplicates)d 条，当前可售库存 %(available)d 条。") % result,
                )
                return redirect("merchant-listing-stock", listing_id=listing.pk)
        else:
            context["error"] = " ".join(str(e) for e in confirm_form.errors.get("items_text", []))
    elif step == "settings" and settings_form.is_valid():
        try:
            catalog_services.update_listing(listing, acting_user=request.user, **settings_form.cleaned_data)
        except DomainError as exc:
            attach_error(settings_form, exc)
        else:
            messages.success(request, _("库存设置已保存。"))
            return redirect("merchant-listing-stock", listing_id=listing.pk)
    elif step == "void" and void_form.is_valid():
        data = void_form.cleaned_data
        try:
            result = inventory.void(listing, acting_user=request.user, items=data["items"], every=data["all"])
        except DomainError as exc:
            attach_error(void_form, exc)
        else:
            messages.success(request, _("已作废 %(voided)d 条未售卡密，当前可售库存 %(available)d 条。") % result)
            return redirect("merchant-listing-stock", listing_id=listing.pk)
    elif step == "preview":
        form = StockUploadForm(request.POST, request.FILES)
        if form.is_valid():
            _preview_batch(request, listing, form, context)
    context.update(form=form, settings_form=settings_form, void_form=void_form)
    return render(request, "web/merchant/stock.html", context)


def _preview_batch(request, listing: Listing, form: StockUploadForm, context: dict) -> None:
    lines = inventory.lines_from_text(form.cleaned_data.get("text") or "")
    upload = form.cleaned_data.get("file")
    if upload is not None:
        try:
            lines += inventory.lines_from_upload(upload.name, upload.read())
        except DomainError as exc:
            form.add_error("file", error_text(exc))
            return
    if not lines:
        form.add_error("text", _("没有读到任何卡密"))
    elif len(lines) > inventory.MAX_LINES:
        form.add_error("text", _("一次最多添加10000条"))
    else:
        batch = preview(listing, lines)
        context["preview"] = batch
        context["invalid_lines"] = [(i["line"], INVALID_REASONS[i["reason"]]) for i in batch.invalid[:50]]
        context["confirm_form"] = StockConfirmForm(initial={"items_text": json.dumps(batch.items, ensure_ascii=False)})


@merchant_only
def listing_stock_export(request, listing_id: int):
    """The unsold keys as an Excel-safe CSV download."""
    listing = _own_listing(request, listing_id)
    try:
        body = inventory.export_unsold(listing, acting_user=request.user)
    except DomainError as exc:
        raise Http404(error_text(exc)) from None
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kameng-stock-{listing.pk}.csv"'
    return response
