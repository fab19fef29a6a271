"""A journal entry's memo as a person reads it. Memos are stored in Chinese, in a few fixed shapes
(orders.escrow, wallet.payments, wallet.payouts); each shape is shown in the active language.
A memo of no known shape (a gateway payment's subject: the listing's title) is shown as stored."""

import re

from django.utils.translation import gettext_lazy as _

SHAPES = [  # most specific first
    (re.compile(r"^订单 (?P<ref>\S+) 尾款$"), _("订单 %(ref)s 尾款")),
    (re.compile(r"^订单 (?P<ref>\S+) 包赔期满放款$"), _("订单 %(ref)s 包赔期满放款")),
    (re.compile(r"^订单 (?P<ref>\S+) 放款$"), _("订单 %(ref)s 放款")),
    (re.compile(r"^订单 (?P<ref>\S+) 退款$"), _("订单 %(ref)s 退款")),
    (re.compile(r"^订单 (?P<ref>\S+)$"), _("订单 %(ref)s")),
    (re.compile(r"^提现失败退回 (?P<ref>\S+)$"), _("提现失败退回 %(ref)s")),
    (re.compile(r"^提现 (?P<ref>\S+)$"), _("提现 %(ref)s")),
    (re.compile(r"^充值 (?P<ref>\S+)$"), _("充值 %(ref)s")),
    (re.compile(r"^原路退回 (?P<ref>\S+)$"), _("原路退回 %(ref)s")),
    (re.compile(r"^渠道不支持原路退回，退至钱包 (?P<ref>\S+)$"), _("渠道不支持原路退回，退至钱包 %(ref)s")),
]


def shown(memo: str) -> str:
    for pattern, text in SHAPES:
        match = pattern.match(memo or "")
        if match:
            return str(text) % {"ref": match["ref"]}
    return memo or ""
