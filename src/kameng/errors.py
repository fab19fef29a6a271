"""Domain errors: every error kameng can answer, with its contract code and its Chinese and English text.

Services raise `DomainError(Error.X, param="field", **placeholders)`; nothing here knows HTTP.
`kameng.api.errors` maps an `ErrorKind` to its status and renders the contract's error body; pages
show `exc.message()`. Both read the message from the member, so the API and the pages say the same.
"""

import string
from enum import Enum, StrEnum, unique

from django.utils import translation


class ErrorKind(StrEnum):
    """The contract's error `type`: what sort of refusal it is (the api layer gives each its status)."""

    INVALID_REQUEST = "invalid_request"  # malformed or invalid input; `param` names the field
    AUTHENTICATION_REQUIRED = "authentication_required"  # no, a bad or an expired token / password
    INSUFFICIENT_FUNDS = "insufficient_funds"  # a wallet or escrow would go negative
    PERMISSION_DENIED = "permission_denied"  # the caller sees the object but may not do this
    NOT_FOUND = "not_found"  # no such object, or one the caller may not see
    CONFLICT = "conflict"  # the object's state does not allow this; `code` says why
    IDEMPOTENCY_ERROR = "idempotency_error"  # an Idempotency-Key reused for another request
    TOO_LARGE = "too_large"  # an upload over a size limit
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # an upload whose content is not allowed
    RATE_LIMITED = "rate_limited"  # too many requests; the caller may retry later
    API_ERROR = "api_error"  # our fault


K = ErrorKind


@unique
class Error(Enum):
    """One member per distinct error: (kind, contract code, Chinese message, English message).

    Codes may repeat (several `invalid_state` refusals, each with its own message); messages may hold
    `{placeholders}` that the raiser fills: `DomainError(Error.CASE_AMOUNT_EXCEEDS_REFUNDABLE, max=500)`.
    """

    kind: ErrorKind
    code: str
    zh: str
    en: str

    def __init__(self, kind: ErrorKind, code: str, zh: str, en: str):
        self.kind = kind
        self.code = code
        self.zh = zh
        self.en = en

    # ---- the API's own conventions (request shape, idempotency, answers no view gave) -------------
    REQUEST_INVALID = (K.INVALID_REQUEST, "invalid_request", "请求无效", "Invalid request")
    REQUEST_PARAM_INVALID = (
        K.INVALID_REQUEST,
        "invalid_request",
        "参数无效：{field}：{detail}",
        "Invalid parameter {field}: {detail}",
    )
    REQUEST_INVALID_DETAIL = (K.INVALID_REQUEST, "invalid_request", "{detail}", "{detail}")  # the validator's text
    REQUEST_BODY_UNREADABLE = (K.INVALID_REQUEST, "error", "无法解析请求体", "Cannot parse request body")
    REQUEST_NUL_CHARACTERS = (
        K.INVALID_REQUEST,
        "invalid_characters",
        "请求中不能包含 NUL 字符",
        "The request must not contain NUL characters",
    )
    METHOD_NOT_ALLOWED = (K.INVALID_REQUEST, "method_not_allowed", "不支持该请求方法", "Method not allowed")
    REQUEST_TOO_LARGE = (K.TOO_LARGE, "too_large", "上传内容过大", "The upload is too large")
    URI_TOO_LONG = (K.INVALID_REQUEST, "uri_too_long", "请求地址过长", "The request URI is too long")
    HEADERS_TOO_LARGE = (K.INVALID_REQUEST, "headers_too_large", "请求头过大", "The request headers are too large")
    REQUEST_FAILED = (K.API_ERROR, "error", "请求失败", "Request failed")
    INTERNAL_ERROR = (K.API_ERROR, "internal_error", "服务器内部错误", "Internal server error")
    LOGIN_REQUIRED = (K.AUTHENTICATION_REQUIRED, "authentication_required", "需要登录", "Authentication required")
    TOKEN_REQUIRED = (
        K.AUTHENTICATION_REQUIRED,
        "authentication_required",
        "需要有效的访问令牌",
        "A valid access token is required",
    )
    PERMISSION_DENIED = (K.PERMISSION_DENIED, "permission_denied", "无权执行此操作", "You may not do this")
    WRONG_ROLE = (K.PERMISSION_DENIED, "wrong_role", "当前角色无权执行此操作", "Your role may not do this")
    NOT_FOUND = (K.NOT_FOUND, "not_found", "对象不存在", "No such object")
    TOO_MANY_REQUESTS = (K.RATE_LIMITED, "rate_limited", "请求过于频繁", "Too many requests")
    LIMIT_OUT_OF_RANGE = (K.INVALID_REQUEST, "invalid_limit", "limit 必须在 1 到 100 之间", "limit must be 1 to 100")
    CURSOR_INVALID = (K.INVALID_REQUEST, "invalid_cursor", "starting_after 无效", "starting_after is not valid")
    IDEMPOTENCY_KEY_TOO_LONG = (
        K.INVALID_REQUEST,
        "invalid_idempotency_key",
        "Idempotency-Key 过长",
        "Idempotency-Key is too long",
    )
    IDEMPOTENCY_KEY_REUSED = (
        K.IDEMPOTENCY_ERROR,
        "idempotency_key_reused",
        "Idempotency-Key 已用于不同的请求",
        "This Idempotency-Key was used for a different request",
    )
    IDEMPOTENCY_IN_PROGRESS = (
        K.IDEMPOTENCY_ERROR,
        "idempotency_in_progress",
        "相同 Idempotency-Key 的请求仍在处理中",
        "A request with the same Idempotency-Key is still in progress",
    )

    # ---- accounts, logins and request rates -----------------------------------------------------------
    ACCOUNT_ROLE_UNKNOWN = (K.INVALID_REQUEST, "invalid_role", "未知的角色", "Unknown role")
    ACCOUNT_ROLE_NOT_REGISTRABLE = (
        K.INVALID_REQUEST,
        "invalid_role",
        "只能注册为买家或商家",
        "You can only register as a buyer or a merchant",
    )
    ACCOUNT_EMAIL_INVALID = (
        K.INVALID_REQUEST,
        "invalid_email",
        "邮箱地址格式不正确（可以不填）",
        "That is not a valid e-mail address (it may be left empty)",
    )
    ACCOUNT_USERNAME_INVALID = (
        K.INVALID_REQUEST,
        "invalid_username",
        "用户名不能为空且不超过150个字符",
        "The username must not be empty and at most 150 characters",
    )
    ACCOUNT_USERNAME_TAKEN = (K.CONFLICT, "username_taken", "用户名已被占用", "This username is taken")
    # Django's password validators, in the language active when they ran.
    ACCOUNT_PASSWORD_WEAK = (K.INVALID_REQUEST, "weak_password", "{detail}", "{detail}")
    ACCOUNT_LANGUAGE_UNSUPPORTED = (K.INVALID_REQUEST, "invalid_language", "不支持的语言", "Unsupported language")
    ACCOUNT_REAL_NAME_TOO_LONG = (
        K.INVALID_REQUEST,
        "invalid_real_name",
        "不能超过{limit}个字符",
        "At most {limit} characters",
    )
    ACCOUNT_PHONE_TOO_LONG = (K.INVALID_REQUEST, "invalid_phone", "不能超过{limit}个字符", "At most {limit} characters")
    ACCOUNT_ADDRESS_TOO_LONG = (
        K.INVALID_REQUEST,
        "invalid_address",
        "不能超过{limit}个字符",
        "At most {limit} characters",
    )
    ACCOUNT_PHONE_INVALID = (
        K.INVALID_REQUEST,
        "invalid_phone",
        "请填写有效的联系电话（数字，可含 +、- 和空格）",
        "Enter a valid phone number (digits, with +, - and spaces allowed)",
    )
    ACCOUNT_PASSWORD_WRONG = (
        K.INVALID_REQUEST,
        "wrong_password",
        "当前密码不正确",
        "The current password is wrong",
    )
    ACCOUNT_EMAIL_UNCHANGED = (
        K.INVALID_REQUEST,
        "email_unchanged",
        "这已经是你的邮箱",
        "That is already your e-mail address",
    )
    ACCOUNT_EMAIL_REQUIRED = (K.INVALID_REQUEST, "invalid_email", "请填写新的邮箱地址", "Enter the new e-mail address")
    ACCOUNT_EMAIL_LINK_INVALID = (
        K.INVALID_REQUEST,
        "email_link_invalid",
        "确认链接无效或已被使用，请重新申请更换邮箱",
        "This confirmation link is not valid or was used already; ask for a new one",
    )
    ACCOUNT_EMAIL_LINK_EXPIRED = (
        K.INVALID_REQUEST,
        "email_link_expired",
        "确认链接已超过 24 小时，请重新申请更换邮箱",
        "This confirmation link is older than 24 hours; ask for a new one",
    )
    OTP_REQUIRED = (
        K.AUTHENTICATION_REQUIRED,
        "otp_required",
        "请输入两步验证的动态验证码",
        "Enter the code from your authenticator app",
    )
    OTP_INVALID = (
        K.AUTHENTICATION_REQUIRED,
        "otp_invalid",
        "动态验证码错误或已过期",
        "The code is wrong or has expired",
    )
    OTP_NOT_ENROLLED = (
        K.AUTHENTICATION_REQUIRED,
        "otp_required",
        "工作人员账户须先启用两步验证（kameng user otp）",
        "Staff accounts must turn on two-step verification first (kameng user otp)",
    )
    OTP_STAFF_ONLY = (
        K.PERMISSION_DENIED,
        "wrong_role",
        "两步验证仅用于仲裁员和管理员账户",
        "Two-step verification is for arbitrators and admins",
    )
    LOGIN_INVALID_CREDENTIALS = (
        K.AUTHENTICATION_REQUIRED,
        "invalid_credentials",
        "用户名或密码错误",
        "Wrong username or password",
    )
    # RateLimited adds "（N 秒后重试）" / " (retry in N s)" to these.
    LOGIN_LOCKED = (
        K.RATE_LIMITED,
        "login_locked",
        "登录失败次数过多，该账户在此网络地址已被暂时锁定",
        "Too many failed logins: this account is locked from this address for a while",
    )
    REGISTER_CHALLENGE_REQUIRED = (
        K.RATE_LIMITED,
        "challenge_required",
        "此网络地址近期注册较多，请先完成安全验证（GET /auth/challenge）",
        "Many sign-ups from this address: solve the challenge first (GET /auth/challenge)",
    )
    LOGIN_ADDRESS_LOCKED = (
        K.RATE_LIMITED,
        "login_locked",
        "此网络地址的登录失败次数过多，已被暂时锁定",
        "Too many failed logins from this address: it is locked for a while",
    )
    LOGIN_SLOW_DOWN = (
        K.RATE_LIMITED,
        "login_slow_down",
        "登录失败次数较多，请稍后再试",
        "Several failed logins: wait a moment before the next try",
    )
    RATE_LIMITED = (
        K.RATE_LIMITED,
        "rate_limited",
        "请求过于频繁，请稍后再试",
        "Too many requests, please try again later",
    )

    # ---- catalog: shops, listings, stock ------------------------------------------------------------
    SHOP_NOT_FOUND = (K.NOT_FOUND, "not_found", "店铺不存在", "No such shop")
    SHOP_MERCHANT_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有商家可以开店",
        "Only merchants can open a shop",
    )
    SHOP_NAME_INVALID = (
        K.INVALID_REQUEST,
        "invalid_name",
        "店铺名称不能为空且不超过80个字符",
        "The shop name must not be empty and at most 80 characters",
    )
    SHOP_NAME_REQUIRED = (K.INVALID_REQUEST, "invalid_name", "店铺名称不能为空", "The shop name must not be empty")
    SHOP_EXISTS = (K.CONFLICT, "shop_exists", "每个商家只能开一家店", "Each merchant can open one shop")
    LISTING_NOT_FOUND = (K.NOT_FOUND, "not_found", "商品不存在", "No such listing")
    LISTING_MERCHANT_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有商家可以发布商品",
        "Only merchants can list goods",
    )
    LISTING_SHOP_REQUIRED = (K.CONFLICT, "shop_required", "请先开设店铺", "Open your shop first")
    LISTING_NOT_OWNER = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只能编辑自己店铺的商品",
        "You can only edit your own shop's listings",
    )
    LISTING_CATEGORY_UNKNOWN = (K.INVALID_REQUEST, "invalid_category", "未知的商品类目", "Unknown category")
    LISTING_KIND_UNKNOWN = (K.INVALID_REQUEST, "invalid_kind", "未知的交付方式", "Unknown delivery kind")
    LISTING_TITLE_INVALID = (
        K.INVALID_REQUEST,
        "invalid_title",
        "标题不能为空且不超过120个字符",
        "The title must not be empty and at most 120 characters",
    )
    LISTING_PRICE_INVALID = (
        K.INVALID_REQUEST,
        "invalid_price",
        "价格必须是正整数（分）",
        "The price must be a positive amount",
    )
    LISTING_AFTER_SALE_DAYS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_after_sale_days",
        "售后天数必须在0到365之间",
        "The after-sale period must be 0 to 365 days",
    )
    LISTING_VERIFICATION_MINUTES_INVALID = (
        K.INVALID_REQUEST,
        "invalid_verification_minutes",
        "验货期必须在0到43200分钟之间",
        "The verification window must be 0 to 43,200 minutes",
    )
    LISTING_DEPOSIT_PERCENT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_deposit_percent",
        "定金比例必须在1到99之间",
        "The deposit must be 1 to 99 percent",
    )
    LISTING_DEPOSIT_NOT_FOR_CARD_KEY = (
        K.INVALID_REQUEST,
        "invalid_deposit_percent",
        "自动发卡商品不支持分阶段付款",
        "Card-key listings cannot use staged payment",
    )
    LISTING_PROMISES_INVALID = (
        K.INVALID_REQUEST,
        "invalid_promises",
        "承诺最多20条，每条不超过200个字符",
        "At most 20 promises of at most 200 characters each",
    )
    LISTING_OFF_PLATFORM_CONTACT = (
        K.INVALID_REQUEST,
        "listing_off_platform_contact",
        "商品信息不能包含站外联系方式或站外交易引导（微信/QQ/Telegram、手机号、邮箱、“加V”、私下转账等）："
        "买家只在平台内付款和联系才受担保交易和售后保障。请删除后再保存，售后沟通请用订单页的交易留言。",
        "Listing text must not carry off-platform contacts or invitations to trade off the platform "
        "(WeChat/QQ/Telegram ids, phone numbers, e-mail addresses, 'add me', private transfers): buyers are "
        "protected by escrow and after-sales only when they pay and talk on the platform. Remove it and save "
        "again; after-sales talk happens in the order's chat.",
    )
    LISTING_STATUS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_status",
        "状态只能是 active 或 inactive",
        "status must be active or inactive",
    )
    STOCK_NOT_OWNER = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只能为自己店铺的商品补货",
        "You can only add stock to your own listings",
    )
    STOCK_NOT_CARD_KEY = (K.CONFLICT, "not_card_key", "只有自动发卡商品需要库存", "Only card-key listings have stock")
    STOCK_TOO_MANY_ITEMS = (K.INVALID_REQUEST, "invalid_items", "一次最多添加10000条", "At most 10,000 items at a time")
    STOCK_ITEM_TOO_LONG = (
        K.INVALID_REQUEST,
        "invalid_items",
        "单条卡密不超过2000个字符",
        "Each card key must be at most 2,000 characters",
    )
    STOCK_FILE_TYPE = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file_type",
        "只支持 .txt、.csv 或 .xlsx 文件",
        "Only .txt, .csv or .xlsx files are supported",
    )
    STOCK_FILE_UNREADABLE = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "unreadable_file",
        "无法读取该文件：请上传文本、CSV 或 Excel (.xlsx) 文件",
        "Cannot read this file: upload a text, CSV or Excel (.xlsx) file",
    )
    STOCK_FILE_TOO_LARGE = (K.TOO_LARGE, "file_too_large", "文件不能超过 2 MB", "Files can be at most 2 MB")
    STOCK_IMPORT_EMPTY = (K.INVALID_REQUEST, "invalid_items", "没有读到任何卡密", "No card keys were found")
    STOCK_VOID_NOTHING = (
        K.INVALID_REQUEST,
        "invalid_items",
        "请列出要作废的卡密，或选择全部作废",
        "List the card keys to void, or void all of them",
    )
    LISTING_WARRANTY_DAYS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_warranty_days",
        "找回包赔天数须为 0 至 90 的整数",
        "warranty_days must be an integer from 0 to 90",
    )
    LISTING_WARRANTY_AMOUNT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_warranty_amount",
        "包赔金额须为正整数（分），且不超过售价",
        "warranty_amount must be a positive integer (fen) no more than the price",
    )
    CASE_RECLAIM_OUTSIDE_WARRANTY = (
        K.CONFLICT,
        "warranty_not_active",
        "找回包赔只在保障期内受理（本订单没有保障期或已过期）",
        "A reclaim is accepted only inside the warranty (this order has none, or it has ended)",
    )
    LISTING_DELIVERY_ORDER_INVALID = (
        K.INVALID_REQUEST,
        "invalid_delivery_order",
        "发卡顺序只能是 oldest 或 random",
        "delivery_order must be oldest or random",
    )
    LISTING_LOW_STOCK_THRESHOLD_INVALID = (
        K.INVALID_REQUEST,
        "invalid_low_stock_threshold",
        "库存预警值须为 0 至 10000 的整数",
        "low_stock_threshold must be an integer from 0 to 10,000",
    )

    # ---- merchants' integrations: notification channels and webhooks ------------------------------
    NOTIFY_MERCHANT_ONLY = (
        K.PERMISSION_DENIED,
        "wrong_role",
        "只有商家可以设置通知渠道",
        "Only merchants can set notification channels",
    )
    NOTIFY_CHANNEL_UNKNOWN = (
        K.INVALID_REQUEST,
        "invalid_channel",
        "渠道只能是 email、telegram、wecom、dingtalk、bark、serverchan 或 json",
        "The channel must be email, telegram, wecom, dingtalk, bark, serverchan or json",
    )
    NOTIFY_URL_INVALID = (
        K.INVALID_REQUEST,
        "invalid_url",
        "这不是该渠道的通知地址（例如 mailto://、tgram://、wecombot://、dingtalk://、bark://、schan://、json://）",
        "This is not a notification URL of that channel (e.g. mailto://, tgram://, wecombot://, dingtalk://, bark://, schan://, json://)",
    )
    NOTIFY_CHANNEL_NOT_SET = (
        K.CONFLICT,
        "channel_not_set",
        "请先设置该通知渠道的地址",
        "Set this channel's URL first",
    )
    NOTIFY_DISPATCH_NOT_FOUND = (K.NOT_FOUND, "not_found", "通知记录不存在", "No such notification")
    WEBHOOK_MERCHANT_ONLY = (
        K.PERMISSION_DENIED,
        "wrong_role",
        "只有商家可以设置 Webhook",
        "Only merchants can set webhooks",
    )
    WEBHOOK_URL_NOT_ALLOWED = (
        K.INVALID_REQUEST,
        "url_not_allowed",
        "地址必须是公网 https 地址",
        "The URL must be a public https address",
    )
    WEBHOOK_EVENTS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_events",
        "请至少选择一个事件：order.paid、order.delivered、order.completed、refund.opened、refund.updated、refund.closed、withdrawal.paid",
        "Choose at least one event: order.paid, order.delivered, order.completed, refund.opened, refund.updated, refund.closed, withdrawal.paid",
    )
    WEBHOOK_TOO_MANY = (K.CONFLICT, "too_many_webhooks", "最多设置 10 个 Webhook", "At most 10 webhooks")
    WEBHOOK_NOT_FOUND = (K.NOT_FOUND, "not_found", "Webhook 不存在", "No such webhook")
    WEBHOOK_DELIVERY_NOT_FOUND = (K.NOT_FOUND, "not_found", "投递记录不存在", "No such delivery")

    # ---- wallet and ledger ----------------------------------------------------------------------------
    STATEMENT_DATE_INVALID = (
        K.INVALID_REQUEST,
        "invalid_date",
        "日期格式应为 YYYY-MM-DD",
        "Dates are written YYYY-MM-DD",
    )
    STATEMENT_RANGE_INVALID = (
        K.INVALID_REQUEST,
        "invalid_range",
        "结束日期不能早于开始日期，且最长一年",
        "The end may not be before the start, and at most a year apart",
    )
    WITHDRAWAL_NOT_SETTLED = (
        K.CONFLICT,
        "not_settled",
        "可提现金额不足：放款后需等待结算期（T+{days}）",
        "Not enough settled money: released money is withdrawable {days} days after its release",
    )
    INSUFFICIENT_FUNDS = (K.INSUFFICIENT_FUNDS, "insufficient_funds", "余额不足", "Insufficient wallet balance")
    TOPUP_NOT_FOUND = (K.NOT_FOUND, "not_found", "充值单不存在", "No such top-up")
    TOPUP_AMOUNT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_amount",
        "充值金额必须是 1 到 10000000 之间的整数（分）",
        "The amount must be between ¥0.01 and ¥100,000",
    )
    PAYMENT_GATEWAY_NOT_FOUND = (K.NOT_FOUND, "not_found", "支付渠道不存在", "No such payment gateway")
    PAYMENT_GATEWAY_OFF = (
        K.INVALID_REQUEST,
        "gateway_unavailable",
        "支付渠道 {gateway} 未开通",
        "The payment gateway {gateway} is not available",
    )
    PAYMENT_NOT_FOUND = (K.NOT_FOUND, "not_found", "支付单不存在", "No such payment")
    PAYMENT_REFUND_EXCEEDS_PAID = (
        K.INVALID_REQUEST,
        "amount_exceeds_refundable",
        "退款金额超过该笔支付尚未退回的金额",
        "The refund is more than what is left of this payment",
    )
    PAYMENT_NOT_PENDING = (K.CONFLICT, "invalid_state", "该支付单已不是待支付状态", "This payment is no longer pending")
    PAYMENT_GATEWAY_UNREACHABLE = (
        K.CONFLICT,
        "gateway_error",
        "支付渠道暂时无法查询，请稍后再试",
        "The payment gateway could not be asked; try again later",
    )
    PAYMENT_SIGNATURE_INVALID = (
        K.INVALID_REQUEST,
        "invalid_signature",
        "支付通知签名无效",
        "The payment notification's signature is not valid",
    )
    PAYMENT_AMOUNT_MISMATCH = (
        K.INVALID_REQUEST,
        "amount_mismatch",
        "通知金额与应付金额不符",
        "The notified amount does not match the amount due",
    )
    WITHDRAWAL_ROLE_NOT_ALLOWED = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有买家和商家可以提现",
        "Only buyers and merchants can withdraw",
    )
    WITHDRAWAL_AMOUNT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_amount",
        "提现金额必须是正整数（分）",
        "The withdrawal must be a positive amount",
    )
    WITHDRAWAL_NOT_FOUND = (K.NOT_FOUND, "not_found", "提现单不存在", "No such withdrawal")
    WITHDRAWAL_ACCOUNT_REQUIRED = (
        K.INVALID_REQUEST,
        "invalid_account",
        "请填写收款账号（支付宝登录账号或微信 openid）",
        "Give the account to pay out to (an Alipay login or a WeChat openid)",
    )
    WITHDRAWAL_DEBT_OUTSTANDING = (
        K.CONFLICT,
        "merchant_debt_outstanding",
        "平台先行赔付的欠款尚未结清，暂不能提现",
        "A refund the platform advanced for you is not yet repaid; withdrawals wait until it is",
    )

    # ---- orders ---------------------------------------------------------------------------------------
    ORDER_NOT_FOUND = (K.NOT_FOUND, "not_found", "订单不存在", "No such order")
    ORDER_BUYER_ONLY = (K.PERMISSION_DENIED, "permission_denied", "只有买家可以下单", "Only buyers can place orders")
    ORDER_OWN_SHOP = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "不能购买自己店铺的商品",
        "You cannot buy from your own shop",
    )
    ORDER_QUANTITY_INVALID = (
        K.INVALID_REQUEST,
        "invalid_quantity",
        "数量必须在1到100之间",
        "The quantity must be 1 to 100",
    )
    ORDER_QUANTITY_ONE_ONLY = (
        K.INVALID_REQUEST,
        "invalid_quantity",
        "该商品每单只能购买1件",
        "This item can only be bought one per order",
    )
    SPECIAL_TERMS_NOT_ACCEPTED = (
        K.INVALID_REQUEST,
        "special_terms_not_accepted",
        "该商品属于特殊商品，请先阅读并确认特殊条款",
        "This is a special (customized) item: read and accept the special terms first",
    )
    ORDER_TOPUP_TARGET_REQUIRED = (
        K.INVALID_REQUEST,
        "topup_target_required",
        "直充商品需要填写充值账号",
        "Enter the account to top up",
    )
    OUT_OF_STOCK = (K.CONFLICT, "out_of_stock", "库存不足", "Out of stock")
    DELIVERY_MERCHANT_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有本店商家可以发货",
        "Only this shop's merchant can deliver",
    )
    DELIVERY_CONTENT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_content",
        "交付内容不能为空且不超过20000个字符",
        "The delivery must not be empty and at most 20,000 characters",
    )
    DELIVERY_AUTOMATIC = (
        K.CONFLICT,
        "invalid_state",
        "自动发卡商品无需手动发货",
        "Card keys are delivered automatically",
    )
    DELIVERY_NOT_ALLOWED = (
        K.CONFLICT,
        "invalid_state",
        "订单当前状态不能发货",
        "This order cannot be delivered in its current status",
    )
    CONFIRM_BUYER_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有买家可以确认收货",
        "Only the buyer can confirm receipt",
    )
    CONFIRM_NOT_ALLOWED = (
        K.CONFLICT,
        "invalid_state",
        "订单当前状态不能确认收货",
        "This order cannot be confirmed in its current status",
    )
    ESCROW_NOT_ALLOWED = (  # a refund-case move the order's lifecycle has no row for (a bug, not a user error)
        K.CONFLICT,
        "invalid_state",
        "订单当前状态不允许此担保操作",
        "The order's escrow cannot do this in its current status",
    )
    BALANCE_UNPAID = (
        K.CONFLICT,
        "balance_unpaid",
        "买家钱包余额不足以支付尾款 ¥{amount}，暂不能发货（已通知买家）",
        "The buyer's wallet cannot cover the balance of ¥{amount} yet, so the order cannot be delivered (the buyer was told)",
    )
    PAY_BALANCE_BUYER_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有买家可以支付尾款",
        "Only the buyer can pay the balance",
    )
    NO_BALANCE_DUE = (
        K.CONFLICT,
        "no_balance_due",
        "该订单没有待付的尾款",
        "This order has no balance to pay",
    )
    ORDER_PAY_WITH_INVALID = (
        K.INVALID_REQUEST,
        "invalid_pay_with",
        "不支持的支付方式",
        "This payment method is not available",
    )
    TOO_MANY_UNPAID_ORDERS = (
        K.CONFLICT,
        "too_many_unpaid_orders",
        "您已有 3 笔待支付的订单，请先支付或等待它们过期",
        "You already have 3 unpaid orders: pay them or let them expire first",
    )
    ORDER_NOT_AWAITING_PAYMENT = (
        K.CONFLICT,
        "invalid_state",
        "订单不在待支付状态",
        "This order is not awaiting payment",
    )
    GUEST_ORDER_NOT_FOUND = (
        K.NOT_FOUND,
        "not_found",
        "没有找到匹配的订单，请核对订单号和查询密码",
        "No matching order: check the order number and the query password",
    )
    GUEST_CONTACT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_contact",
        "请填写有效的邮箱地址或手机号",
        "Enter a valid email address or mobile number",
    )
    GUEST_PASSWORD_INVALID = (
        K.INVALID_REQUEST,
        "invalid_query_password",
        "查询密码需为 6 到 64 个字符",
        "The query password must be 6 to 64 characters",
    )
    ORDER_REFUND_EXCEEDS_REFUNDABLE = (
        K.INVALID_REQUEST,
        "amount_exceeds_refundable",
        "退款金额超过可退金额",
        "The refund exceeds what can be refunded",
    )
    MESSAGE_PARTIES_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有交易双方可以留言",
        "Only the buyer and the merchant can post messages",
    )
    MESSAGE_BODY_INVALID = (
        K.INVALID_REQUEST,
        "invalid_body",
        "留言不能为空且不超过5000个字符",
        "The message must not be empty and at most 5,000 characters",
    )
    EXPORT_FORMAT_UNSUPPORTED = (
        K.INVALID_REQUEST,
        "invalid_format",
        "只支持 csv 格式",
        "Only the csv format is supported",
    )

    # ---- after-sales: refund cases, decisions, appeals --------------------------------------------------
    CASE_NOT_FOUND = (K.NOT_FOUND, "not_found", "售后单不存在", "No such refund case")
    CASE_ROLE_NOT_ALLOWED = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "当前角色不能对该售后单执行此操作",
        "Your role cannot take this action on this case",
    )
    CASE_ACTION_NOT_ALLOWED = (
        K.CONFLICT,
        "invalid_state",
        "售后单当前状态不允许此操作",
        "This action is not allowed in the case's current status",
    )
    CASE_BUYER_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有买家可以申请售后",
        "Only buyers can request a refund",
    )
    CASE_REASON_INVALID = (K.INVALID_REQUEST, "invalid_reason", "售后原因无效", "Invalid problem type")
    CASE_DESCRIPTION_INVALID = (
        K.INVALID_REQUEST,
        "invalid_description",
        "请具体描述问题（不超过5000字）",
        "Describe the problem concretely (at most 5000 characters)",
    )
    CASE_AMOUNT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_amount",
        "退款金额必须是正整数（分）",
        "The refund must be a positive amount",
    )
    REFUND_WINDOW_CLOSED = (K.CONFLICT, "refund_window_closed", "已超过售后期限", "The after-sale period is over")
    CASE_ALREADY_OPEN = (
        K.CONFLICT,
        "case_already_open",
        "该订单已有进行中的售后单",
        "This order already has an open refund case",
    )
    CASE_ALREADY_DECIDED = (
        K.CONFLICT,
        "case_already_decided",
        "平台已对该订单作出终局裁决，不能再次申请售后",
        "The platform has made a final ruling on this order; no new refund request can be made",
    )
    CASE_ALREADY_SETTLED = (
        K.CONFLICT,
        "case_already_settled",
        "该订单的售后已协商解决（商家同意退款或买家接受了方案），不能再次申请售后",
        "The refund on this order was settled (the merchant agreed or the buyer accepted an offer); "
        "no new refund request can be made",
    )
    REOPEN_LIMIT_REACHED = (
        K.CONFLICT,
        "reopen_limit_reached",
        "撤回的售后申请只能重新提交一次",
        "A withdrawn refund request can be reopened only once",
    )
    DEADLINE_PASSED = (
        K.CONFLICT,
        "deadline_passed",
        "已超过处理时限，售后单已按超时规则处理，请刷新查看最新状态",
        "The deadline has passed; the case was moved as the timeout rules say. Reload to see where it stands",
    )
    CASE_AMOUNT_EXCEEDS_REFUNDABLE = (
        K.INVALID_REQUEST,
        "amount_exceeds_refundable",
        "退款金额超过可退金额（最多 {max} 分）",
        "The refund exceeds what can be refunded (at most {max} fen)",
    )
    NO_REASON_NOT_ALLOWED = (
        K.CONFLICT,
        "no_reason_not_allowed",
        "该商品不支持无理由退款",
        "This listing does not offer no-reason refunds",
    )
    OFFER_AMOUNT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_offer",
        "部分退款金额必须大于0且小于申请金额",
        "A partial refund must be more than 0 and less than the amount requested",
    )
    REJECTION_REASON_REQUIRED = (
        K.INVALID_REQUEST,
        "reason_required",
        "拒绝退款必须说明理由",
        "A rejection needs a reason",
    )
    APPEAL_CONFLICT_OF_INTEREST = (
        K.PERMISSION_DENIED,
        "conflict_of_interest",
        "原仲裁员不能处理该申诉",
        "The arbitrator of the first decision cannot decide the appeal",
    )
    CASE_ALREADY_CLAIMED = (
        K.CONFLICT,
        "already_claimed",
        "该案件已由其他仲裁员处理",
        "Another arbitrator has taken this case",
    )
    DECISION_OUTCOME_INVALID = (K.INVALID_REQUEST, "invalid_outcome", "裁决结果无效", "Invalid outcome")
    DECISION_RULE_UNKNOWN = (
        K.INVALID_REQUEST,
        "unknown_rule",
        "未知的规则编号（可引用的规则见 GET /policies 的 rules）",
        "Unknown rule id (the rules a decision can cite are GET /policies `rules`)",
    )
    DECISION_RATIONALE_REQUIRED = (
        K.INVALID_REQUEST,
        "rationale_required",
        "请写明裁决理由（至少10个字），并引用所适用的规则",
        "Write the rationale (at least 10 characters) and cite the rule applied",
    )
    DECISION_AMOUNT_INVALID = (
        K.INVALID_REQUEST,
        "invalid_amount",
        "部分退款/折中金额必须大于0且小于申请金额",
        "A partial refund or compromise must be more than 0 and less than the amount requested",
    )
    DECISION_AMOUNT_EXCEEDS_REFUNDABLE = (
        K.INVALID_REQUEST,
        "amount_exceeds_refundable",
        "金额超过可退金额",
        "The amount exceeds what can be refunded",
    )
    APPEAL_DECISION_MUST_BIND = (
        K.INVALID_REQUEST,
        "binding_decision_required",
        "申诉裁决必须是终局裁决，不能再提出折中方案",
        "An appeal decision must be binding; no compromise",
    )
    COMPROMISE_DECLINED_MUST_BIND = (
        K.INVALID_REQUEST,
        "binding_decision_required",
        "折中方案已被拒绝，本次必须作出有约束力的裁决",
        "The compromise was declined; this decision must be binding",
    )
    COMPROMISE_ALREADY_ANSWERED = (
        K.CONFLICT,
        "already_answered",
        "已答复过折中方案",
        "You already answered the compromise",
    )
    DECISION_NOT_AGAINST_YOU = (
        K.PERMISSION_DENIED,
        "not_losing_party",
        "裁决对你有利，无需接受",
        "The decision is in your favour; nothing to accept",
    )
    DECISION_ALREADY_ACCEPTED = (K.CONFLICT, "already_accepted", "已接受过该裁决", "You already accepted this decision")
    APPEAL_ALREADY_USED = (
        K.CONFLICT,
        "appeal_already_used",
        "每个售后单只能申诉一次",
        "A case can be appealed only once",
    )
    APPEAL_REASON_REQUIRED = (K.INVALID_REQUEST, "reason_required", "请说明申诉理由", "Give a reason for the appeal")
    APPEAL_NEW_EVIDENCE_REQUIRED = (
        K.CONFLICT,
        "new_evidence_required",
        "申诉需要先补充裁决后的新证据",
        "An appeal needs new evidence added after the decision",
    )

    # ---- evidence: the vault and its uploads ----------------------------------------------------------
    EVIDENCE_NOT_FOUND = (K.NOT_FOUND, "not_found", "证据不存在", "No such evidence")
    EVIDENCE_PREVIEW_NOT_FOUND = (K.NOT_FOUND, "not_found", "预览不存在", "No such preview")
    EVIDENCE_ASSIST_ARBITRATORS_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "证据辅助分析只对仲裁员开放",
        "Evidence analysis is for arbitrators only",
    )
    EVIDENCE_UPLOAD_NOT_ALLOWED = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "无权为该售后单上传证据",
        "You may not add evidence to this case",
    )
    EVIDENCE_CATEGORY_INVALID = (K.INVALID_REQUEST, "invalid_category", "证据类别无效", "Invalid evidence category")
    EVIDENCE_NOTE_TOO_LONG = (
        K.INVALID_REQUEST,
        "invalid_note",
        "备注不超过2000个字符",
        "The note can be at most 2000 characters",
    )
    EVIDENCE_CASE_CLOSED = (
        K.CONFLICT,
        "invalid_state",
        "售后单已结束，不能再补充证据",
        "The case is closed; no more evidence can be added",
    )
    EVIDENCE_QUOTA_EXCEEDED = (
        K.CONFLICT,
        "evidence_quota_exceeded",
        "每个售后单最多上传 {quota} 个证据文件",
        "At most {quota} evidence files can be uploaded to a case",
    )
    UPLOAD_FILE_REQUIRED = (K.INVALID_REQUEST, "file_required", "请选择要上传的文件", "Choose a file to upload")
    UPLOAD_ONE_FILE_PER_PART = (
        K.INVALID_REQUEST,
        "duplicate_file",
        "每次只能上传一个文件",
        "Upload one file per request",
    )
    UPLOAD_TOO_LARGE = (K.TOO_LARGE, "file_too_large", "文件不能超过 {mib} MiB", "Files can be at most {mib} MiB")
    UPLOAD_IMAGE_TOO_LARGE = (
        K.TOO_LARGE,
        "image_too_large",
        "图片像素过多（上限 {megapixels} 百万像素）",
        "The image has too many pixels (at most {megapixels} megapixels)",
    )
    UPLOAD_VIDEO_TOO_LARGE = (K.TOO_LARGE, "image_too_large", "视频画面尺寸过大", "The video frame is too large")
    UPLOAD_EMPTY = (K.UNSUPPORTED_MEDIA_TYPE, "empty_file", "文件是空的", "The file is empty")
    UPLOAD_TYPE_UNSUPPORTED = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_type",
        "只接受 PNG、JPEG、WebP、GIF、MP4、WebM、PDF 或纯文本文件",
        "Only PNG, JPEG, WebP, GIF, MP4, WebM, PDF or plain-text files are accepted",
    )
    UPLOAD_TEXT_ENCODING = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_type",
        "文本文件必须是 UTF-8、UTF-16 或 GB18030 编码的纯文本",
        "Text files must be plain text in UTF-8, UTF-16 or GB18030",
    )
    UPLOAD_ARCHIVE_APPENDED = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "polyglot",
        "文件末尾附带了压缩包，不予接受",
        "The file has an archive appended; refused",
    )
    UPLOAD_ACTIVE_CONTENT = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "active_content",
        "文件中含有网页或脚本内容，不予接受",
        "The file contains web page or script content; refused",
    )
    UPLOAD_PDF_INCOMPLETE = (K.UNSUPPORTED_MEDIA_TYPE, "invalid_pdf", "PDF 文件不完整", "The PDF file is incomplete")
    UPLOAD_PDF_ACTIVE_CONTENT = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "active_content",
        "PDF 中含有脚本、启动动作或嵌入文件，不予接受",
        "The PDF contains scripts, launch actions or embedded files; refused",
    )
    UPLOAD_GIF_MALFORMED = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "polyglot",
        "GIF 文件结构无效，或在结束标记之后还有数据",
        "The GIF is malformed or has data after its end marker",
    )
    UPLOAD_IMAGE_INVALID = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "invalid_image",
        "图片文件已损坏或格式不符",
        "The image is damaged or not what it claims to be",
    )
    UPLOAD_PNG_TRAILING_DATA = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "polyglot",
        "PNG 文件在结束标记之后还有数据，不予接受",
        "The PNG has data after its end marker; refused",
    )
    UPLOAD_IMAGE_TRAILING_DATA = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "polyglot",
        "图片文件在结束位置之后还有数据，不予接受",
        "The image has data after its end; refused",
    )
    UPLOAD_MP4_MALFORMED = (K.UNSUPPORTED_MEDIA_TYPE, "invalid_video", "MP4 文件结构无效", "The MP4 file is malformed")
    UPLOAD_VIDEO_WITHOUT_PICTURE = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "invalid_video",
        "视频文件中没有视频画面",
        "The video file has no video",
    )
    UPLOAD_VIDEO_INVALID = (
        K.UNSUPPORTED_MEDIA_TYPE,
        "invalid_video",
        "视频文件已损坏或格式不符",
        "The video is damaged or not what it claims to be",
    )

    # ---- trust: shop status, reviews, platform statistics ---------------------------------------------
    SANCTION_ADMIN_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有平台运营可以调整店铺状态",
        "Only platform operators can change a shop's status",
    )
    SANCTION_STATUS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_status",
        "状态只能是 active、restricted 或 suspended",
        "status must be active, restricted or suspended",
    )
    SANCTION_REASON_REQUIRED = (
        K.INVALID_REQUEST,
        "reason_required",
        "请写明调整理由（不超过1000字）",
        "Give the reason for the change (at most 1000 characters)",
    )
    REVIEW_NOT_FOUND = (K.NOT_FOUND, "not_found", "评价不存在", "No such review")
    REVIEW_BUYER_ONLY = (
        K.PERMISSION_DENIED,
        "permission_denied",
        "只有该订单的买家可以评价",
        "Only the buyer of this order can review it",
    )
    REVIEW_STARS_INVALID = (K.INVALID_REQUEST, "invalid_stars", "评分必须是1到5星", "The rating must be 1 to 5 stars")
    REVIEW_TEXT_TOO_LONG = (
        K.INVALID_REQUEST,
        "invalid_text",
        "评价内容不超过2000字",
        "A review can be at most 2000 characters",
    )
    REVIEW_ALREADY_WRITTEN = (K.CONFLICT, "already_reviewed", "该订单已评价过", "This order has already been reviewed")
    REVIEW_NOT_ALLOWED_YET = (
        K.CONFLICT,
        "review_not_allowed",
        "订单完成或售后结束后才能评价",
        "An order can be reviewed once it is completed or its refund case is over",
    )
    STATS_DAYS_INVALID = (K.INVALID_REQUEST, "invalid_days", "days 必须在 1 到 365 之间", "days must be 1 to 365")
    STATS_WEEKS_INVALID = (K.INVALID_REQUEST, "invalid_weeks", "weeks 必须在 1 到 52 之间", "weeks must be 1 to 52")
    PRECEDENT_REASON_INVALID = (K.INVALID_REQUEST, "invalid_reason", "未知的售后原因", "Unknown refund reason")
    PRECEDENT_OUTCOME_INVALID = (K.INVALID_REQUEST, "invalid_outcome", "未知的裁决结果", "Unknown decision outcome")

    # ---- complaints: the buyer's documents for 12315, arbitration or the police -------------------------
    COMPLAINT_CHANNEL_INVALID = (
        K.INVALID_REQUEST,
        "invalid_channel",
        "channel 必须是 12315、arbitration、court 或 police 之一",
        "channel must be one of 12315, arbitration, court or police",
    )
    COMPLAINT_CHANNEL_UNAVAILABLE = (
        K.CONFLICT,
        "channel_unavailable",
        "平台用户协议没有仲裁条款，仲裁委员会不会受理：请选择法院小额诉讼（court）",
        "The platform's user agreement has no arbitration clause, so no commission would accept the case: "
        "choose the small-claims court (court)",
    )
    COMPLAINT_BUYER_ONLY = (
        K.PERMISSION_DENIED,
        "buyer_only",
        "只有该售后单的买家可以导出维权材料",
        "Only the buyer of this case can export the complaint documents",
    )

    # ---- policy, audit log, test clock ----------------------------------------------------------------
    POLICY_GRADE_FLOORS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_grade_floors",
        "等级分数线须为整数，且 100 ≥ A > B > C > D ≥ 1",
        "Grade floors must be whole numbers with 100 ≥ A > B > C > D ≥ 1",
    )
    POLICY_SUSPEND_AFTER_INVALID = (
        K.INVALID_REQUEST,
        "invalid_suspend_after",
        "清退所需的被推翻拒绝次数须为 1 到 20 的整数",
        "The overturned refusals before suspension must be a whole number from 1 to 20",
    )
    POLICY_COMMISSION_INVALID = (
        K.INVALID_REQUEST,
        "invalid_commission",
        "佣金须为 0 到 5000 个基点（0%–50%）的整数，且只能设置已有类目",
        "A commission is a whole number of basis points from 0 to 5000 (0%–50%), for an existing category",
    )
    POLICY_SETTLEMENT_DAYS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_settlement_days",
        "结算周期 T+N 的 N 须为 0 到 30 的整数",
        "The settlement delay T+N needs N as a whole number from 0 to 30",
    )
    POLICY_REFUND_RATIOS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_refund_ratios",
        "退款比例每行写“中文场景 | 英文场景 | 比例”，最多 10 行；百分比须在 0%–100% 之间",
        "Write each refund ratio as 'Chinese scenario | English scenario | ratio', at most 10 lines; "
        "a percentage must be 0%–100%",
    )
    HOLIDAY_NAME_TOO_LONG = (
        K.INVALID_REQUEST,
        "invalid_name",
        "名称不超过64个字符",
        "The name can be at most 64 characters",
    )
    AUDIT_TYPE_INVALID = (
        K.INVALID_REQUEST,
        "invalid_type",
        "type 必须以 {sources} 之一开头",
        "type must start with one of {sources}",
    )
    CLOCK_SECONDS_INVALID = (
        K.INVALID_REQUEST,
        "invalid_seconds",
        "seconds 必须在 0 到 315360000 之间",
        "seconds must be 0 to 315360000",
    )

    def placeholders(self, language: str = "zh") -> set[str]:
        """The `{names}` its message in that language ("zh" or "en") needs."""
        text = self.en if language == "en" else self.zh
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}


del K


def is_english(language: str | None = None) -> bool:
    """English for a language code starting with "en"; None asks Django's active language."""
    if language is None:
        language = translation.get_language()
    return (language or "").lower().startswith("en")


class DomainError(Exception):
    """A refusal raised by a service: `DomainError(Error.X, param="amount", max=123)`.

    `param` names the input field at fault (the contract's `param`); the other keywords fill the
    message's placeholders, in either language.
    """

    def __init__(self, error: Error, *, param: str | None = None, **params: object):
        missing = error.placeholders() - params.keys()
        if missing:
            raise TypeError(f"{error.name} needs {sorted(missing)}")
        super().__init__(error, param, params)
        self.error = error
        self.param = param
        self.params = params

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def kind(self) -> ErrorKind:
        return self.error.kind

    def message(self, language: str | None = None) -> str:
        """The message in `language` (None: Django's active one): English for "en…", else Chinese."""
        template = self.error.en if is_english(language) else self.error.zh
        return template.format(**self.params)

    def __str__(self) -> str:
        return f"{self.error.name}: {self.message('zh')}"


RETRY_AFTER = {"zh": "（{seconds} 秒后重试）", "en": " (retry in {seconds} s)"}


class RateLimited(DomainError):
    """Too many requests or login failures: the caller may retry after `retry_after` seconds."""

    def __init__(self, retry_after: int, error: Error = Error.RATE_LIMITED):
        super().__init__(error)
        self.retry_after = max(1, int(retry_after))

    def message(self, language: str | None = None) -> str:
        suffix = RETRY_AFTER["en" if is_english(language) else "zh"].format(seconds=self.retry_after)
        return super().message(language) + suffix
