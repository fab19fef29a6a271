"""Complaint packages for external channels (外部维权): who may export one, building it from a case,
and keeping the latest build per channel so a download is ready.

The web pages and the API call these; both read the case only (nothing here changes the case; the
buyer's own profile changes through kameng.accounts.services.update_profile, and built packages are
stored as ComplaintPackage rows).
"""

import dataclasses
import functools
import hashlib
import json
import logging
import uuid
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from kameng.accounts.models import User
from kameng.aftersales import services as aftersales
from kameng.aftersales.models import RefundCase
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.money import yuan
from kameng.policy.laws import ARBITRATION_4, COMPLAINT_14, COMPLAINT_21, SMALL_CLAIMS
from kameng.timers import jobs

from . import documents, package, pdf, rules
from .documents import Dossier, EvidenceEntry, Fact, Operator, OrderInfo, Person, Shop
from .models import ComplaintPackage
from .rules import CHANNELS, CaseFacts, Decision

log = logging.getLogger(__name__)

CHANNEL_INFO = {
    "12315": {
        "title": "12315 消费者投诉",
        "recipient": "全国12315平台或被投诉人所在地的市场监督管理部门",
        "when_to_use": "商家拒绝退款、平台不处理或处理明显不公时的首选：向市场监督管理部门投诉，免费，"
        "由市场监管部门组织调解，并可查处霸王条款、虚假宣传等违法行为。",
    },
    "arbitration": {
        "title": "在线仲裁申请",
        "recipient": "平台用户协议仲裁条款选定的仲裁委员会（网络仲裁）",
        "when_to_use": "想要一份有法律约束力、可申请强制执行的裁决时使用；虚拟商品金额小，在线仲裁全程网上办理、"
        "成本低。只有平台用户协议有仲裁条款时才可用。",
    },
    "court": {
        "title": "法院小额诉讼",
        "recipient": "原告或被告住所地的基层人民法院（人民法院在线服务网上立案）",
        "when_to_use": "商家拒不退款、调解不成时，通过“人民法院在线服务”网上起诉：金额小、事实清楚的金钱纠纷"
        "适用小额诉讼，一审终审，判决可申请强制执行。",
    },
    "police": {
        "title": "公安机关报案",
        "recipient": "当地公安机关或网上报案平台",
        "when_to_use": "只在涉嫌欺诈时使用：虚假宣传或售假、付款后根本不发货、卖出账号后又找回；"
        "金额较大或明显是骗局时报案追究刑事责任。一般的质量纠纷请用前两种渠道。",
    },
}


def check_channel(channel: str | None) -> str:
    if channel not in CHANNELS:
        raise DomainError(Error.COMPLAINT_CHANNEL_INVALID, param="channel")
    return channel


def complaint_case_for(case_id, user: User) -> RefundCase:
    """The buyer's own case. Others who can see it (its merchant, staff) get 403; anyone else 404."""
    case = aftersales.get_case_for(case_id, user)
    if aftersales.role_on_case(case, user) != "buyer":
        raise DomainError(Error.COMPLAINT_BUYER_ONLY)
    return case


def missing_profile_fields(user: User, channel: str = "12315") -> list[str]:
    """The complainant details the channel needs that the buyer's profile lacks."""
    return [name for name in rules.REQUIRED_PROFILE_FIELDS[channel] if not (getattr(user, name) or "").strip()]


def availability(channel: str) -> tuple[bool, str]:
    """Whether the channel can take this platform's cases, and why (or why not), in one sentence."""
    if channel == "arbitration":
        commission = settings.ARBITRATION_COMMISSION
        if not commission:
            return False, (
                f"平台用户协议没有仲裁条款，仲裁委员会只受理有书面仲裁协议的案件（{ARBITRATION_4.short}），"
                "因此不提供仲裁申请书；请选择法院小额诉讼。"
            )
        return True, f"平台用户协议约定买家可以选择由{commission}仲裁（可选条款，也可以向法院起诉）。"
    if channel == "court":
        return True, f"金额小、事实清楚的金钱纠纷适用小额诉讼（{SMALL_CLAIMS.short}），可在人民法院在线服务网上立案。"
    if channel == "12315":
        return True, (
            f"市场监督管理部门七个工作日内决定是否受理（{COMPLAINT_14.short}），"
            f"受理后四十五个工作日内调解不成即终止调解（{COMPLAINT_21.short}）。"
        )
    return True, "仅在涉嫌欺诈（虚假宣传、收款不发货、卖出账号又找回）时报案。"


def check_available(channel: str) -> str:
    """`channel`, if it is one and this platform can use it (409 channel_unavailable otherwise)."""
    if not availability(check_channel(channel))[0]:
        raise DomainError(Error.COMPLAINT_CHANNEL_UNAVAILABLE, param="channel")
    return channel


def channels_for(case: RefundCase) -> list[dict]:
    """Every channel for the buyer's case page: whether it is available and why, what each is for,
    and what the buyer still has to fill in."""
    buyer = User.objects.get(pk=case.buyer_id)
    out = []
    for channel in CHANNELS:
        missing = missing_profile_fields(buyer, channel)
        info = CHANNEL_INFO[channel]
        available, reason = availability(channel)
        out.append(
            {
                "channel": channel,
                "available": available,
                "reason": reason,
                "title": info["title"],
                "document": documents.CHANNEL_TITLES[channel],
                "recipient": info["recipient"],
                "when_to_use": info["when_to_use"],
                "missing_fields": missing,
                "missing_labels": [rules.PROFILE_FIELDS[name] for name in missing],
            }
        )
    return out


def preview_text(case: RefundCase, channel: str) -> str:
    """The document as plain text (what complaint.txt holds)."""
    return documents.build(gather(case), check_channel(channel)).text()


def build_package(case: RefundCase, channel: str) -> bytes:
    """The ZIP, built now from the stored files: complaint.pdf, complaint.txt, the evidence files and
    manifest.json (whose hashes show any stored file changed behind the platform's back)."""
    return _build(gather(case), check_available(channel))


def _build(dossier: Dossier, channel: str) -> bytes:
    document = documents.build(dossier, channel)
    claims = rules.claims(dossier.facts, channel)
    rendered = pdf.render(
        document, subject=f"{document.title}（订单 {dossier.order.number}）", created_at=dossier.generated_at
    )
    items = RefundCase.objects.get(pk=int(dossier.case_id)).evidence.order_by("seq")
    return package.build_zip(dossier, document, claims, text=document.text(), pdf=rendered, items=items)


# ---- the stored package: built ahead (job build_complaint), served while it still holds ------------


@functools.cache
def _code_digest() -> str:
    """The complaint code that turns a dossier into a package: a change to it is a change to every package."""
    digest = hashlib.sha256(package.FORMAT.encode())
    for module in (documents, rules, pdf, package):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def fingerprint(dossier: Dossier, channel: str) -> str:
    """What the package for `channel` says, without the moment it was made.

    The dossier holds every fact the documents state (case, events, order, shop, buyer's details,
    operator) and each evidence item's recorded SHA-256 and chain head, so two builds with one
    fingerprint differ only in their date.
    """
    data = dataclasses.asdict(dossier)
    del data["generated_at"]
    data["timeline"] = [fact for fact in data["timeline"] if fact["at"] != dossier.generated_at]
    payload = json.dumps(
        {"code": _code_digest(), "channel": channel, "dossier": data}, sort_keys=True, default=str, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def ready_package(case: RefundCase, channel: str) -> bytes:
    """The ZIP for a download: the stored build when it still says what the case says now, otherwise
    built now (and stored for the next download)."""
    channel = check_available(channel)
    return _current_package(case.pk, channel, gather(case))[1]


def prepare_package(case_id: int, channel: str) -> ComplaintPackage | None:
    """The job build_complaint: store a current package for the case and channel (at once if one is
    stored already). None when there is no such case, or the channel is not available here."""
    channel = check_channel(channel)
    case = RefundCase.objects.filter(pk=case_id).first()
    if case is None or not availability(channel)[0]:
        return None
    return _current_package(case_id, channel, gather(case))[0]


def _current_package(case_id: int, channel: str, dossier: Dossier) -> tuple[ComplaintPackage, bytes]:
    """The stored package that says what `dossier` says, with its bytes; built and stored if none is."""
    current = fingerprint(dossier, channel)
    stored = ComplaintPackage.objects.filter(case_id=case_id, channel=channel, fingerprint=current).first()
    data = _read(stored) if stored is not None else None
    if stored is None or data is None:
        data = _build(dossier, channel)
        stored = _store(case_id, channel, current, data)
    return stored, data


def prepare_soon(case: RefundCase, channel: str) -> bool:
    """Queue the build of the package the buyer is looking at, unless a current one is stored.

    With KAMENG_BROKER_URL a Celery worker builds it; embedded, it is built in this process once the
    transaction commits (at once outside one). Returns whether a build was queued.
    """
    channel = check_channel(channel)
    if not availability(channel)[0]:
        return False
    current = fingerprint(gather(case), channel)
    if ComplaintPackage.objects.filter(case_id=case.pk, channel=channel, fingerprint=current).exists():
        return False
    jobs.enqueue("build_complaint", case.pk, channel)
    return True


def _read(stored: ComplaintPackage) -> bytes | None:
    """The stored ZIP's bytes, or None when its file is gone or no longer what was stored."""
    try:
        with stored.file.open("rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError, ValueError):
        log.warning("complaint package %s: stored file %s unreadable; building again", stored.pk, stored.file.name)
        return None
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        log.warning("complaint package %s: stored file %s changed; building again", stored.pk, stored.file.name)
        return None
    return data


def _store(case_id: int, channel: str, current: str, data: bytes) -> ComplaintPackage:
    """Keep `data` as the case's package for `channel`, replacing (and deleting the file of) the previous one."""
    built = ComplaintPackage(
        case_id=case_id,
        channel=channel,
        fingerprint=current,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        built_at=clock_now(),
    )
    built.file.save(f"{uuid.uuid4().hex}.zip", ContentFile(data), save=False)
    with transaction.atomic():
        previous = ComplaintPackage.objects.select_for_update().filter(case_id=case_id, channel=channel).first()
        if previous is None:
            try:
                with transaction.atomic():
                    built.save()
                return built
            except IntegrityError:  # a parallel build stored the first one: replace it
                previous = ComplaintPackage.objects.select_for_update().get(case_id=case_id, channel=channel)
        stale, storage = previous.file.name, previous.file.storage
        built.pk = previous.pk
        built.save(force_update=True)
        if stale:
            transaction.on_commit(lambda: storage.delete(stale))
    return built


def package_filename(case: RefundCase, channel: str) -> str:
    return f"kameng-{channel}-case{case.pk}.zip"


# ---- reading the case ----------------------------------------------------------------------


def _decision(case: RefundCase) -> Decision | None:
    record, appeal = None, False
    if case.appeal and case.appeal.get("decision"):
        record, appeal = case.appeal["decision"], True
    elif case.decision and not case.decision.get("superseded"):
        record = case.decision
    if not record:
        return None
    return Decision(
        outcome=record["outcome"],
        amount=int(record.get("amount") or 0),
        decided_at=timezone.localtime(datetime.fromisoformat(record["decided_at"])),
        final=bool(record.get("final")),
        rationale=record.get("rationale", ""),
        appeal=appeal,
    )


def _rationales(case: RefundCase) -> dict[datetime, str]:
    """decided_at → rationale, to quote each decision in the timeline (aware datetimes compare across zones)."""
    out = {}
    for record in (case.decision, (case.appeal or {}).get("decision")):
        if record and record.get("decided_at"):
            out[datetime.fromisoformat(record["decided_at"])] = record.get("rationale", "")
    return out


def gather(case: RefundCase) -> Dossier:
    """Everything the documents state, read fresh from the database (dated now), with the latest
    order chat among the evidence (added first when it changed since the last log)."""
    aftersales.refresh_chat_log(case)
    case = RefundCase.objects.select_related("order", "shop", "shop__owner", "buyer").get(pk=case.pk)
    order, shop, buyer = case.order, case.shop, case.buyer
    snap = order.snapshot
    operator = Operator(
        name=settings.PLATFORM_OPERATOR.get("name", ""),
        address=settings.PLATFORM_OPERATOR.get("address", ""),
        arbitration_commission=settings.ARBITRATION_COMMISSION,
    )
    generated_at = clock_now()
    reason_label = documents.REASON_LABELS.get(case.reason, case.reason)

    timeline = [
        Fact(
            order.created_at,
            f"本人在{operator.name}的网店“{shop.name}”下单购买“{snap.get('title', '')}”×{order.quantity}，"
            f"订单金额 {yuan(order.amount)}，已付款 {yuan(order.paid_amount)}（订单号 {order.number}），"
            f"货款由平台担保托管",
        )
    ]
    if order.delivered_at:
        timeline.append(Fact(order.delivered_at, "商家交付商品（交付记录见交易记录证据）"))
    rationales = _rationales(case)
    for event in case.events.order_by("id"):
        sentence = documents.event_sentence(
            event.type,
            event.actor_role,
            event.data or {},
            event.to_status,
            reason_label=reason_label,
            description=case.description,
            rationale=rationales.get(event.at, "") if event.type == "decide" else "",
        )
        if sentence:
            timeline.append(Fact(event.at, sentence))
    if not order.delivered_at:
        timeline.append(Fact(generated_at, "截至本材料出具之日，商家仍未交付商品"))
    timeline.sort(key=lambda fact: fact.at)  # stable: same-moment facts keep their order

    items = list(case.evidence.order_by("seq"))
    evidence = [
        EvidenceEntry(
            seq=e.seq,
            category=e.category,
            source=e.source,
            filename=e.filename,
            sha256=e.sha256,
            size=e.size,
            uploaded_at=e.uploaded_at,
            note=e.note,
            path=package.evidence_path(e.seq, e.category, e.filename, e.content_type),
        )
        for e in items
    ]

    facts = CaseFacts(
        reason=case.reason,
        price=order.amount,
        requested=case.requested_amount,
        refunded=case.refunded_amount,
        promises=tuple(snap.get("promises") or ()),
        warnings=tuple(snap.get("warnings") or ()),
        delivered=order.delivered_at is not None,
        category=snap.get("category", ""),
        description=case.description,
        decision=_decision(case),
    )
    return Dossier(
        case_id=str(case.pk),
        case_created_at=case.created_at,
        status=case.status,
        resolution=case.resolution,
        buyer=Person(username=buyer.username, real_name=buyer.real_name, phone=buyer.phone, address=buyer.address),
        shop=Shop(id=str(shop.pk), name=shop.name, owner_username=shop.owner.username, contact=shop.contact),
        operator=operator,
        order=OrderInfo(
            number=order.number or str(order.pk),
            created_at=order.created_at,
            title=snap.get("title", ""),
            category=snap.get("category", ""),
            quantity=order.quantity,
            amount=order.amount,
            paid_amount=order.paid_amount,
            delivered_at=order.delivered_at,
            snapshot_sha256=order.snapshot_sha256,
            promises=tuple(snap.get("promises") or ()),
            special_terms=tuple(snap.get("special_terms") or ()),
        ),
        facts=facts,
        timeline=timeline,
        evidence=evidence,
        chain_head=items[-1].chain if items else None,
        generated_at=generated_at,
    )
