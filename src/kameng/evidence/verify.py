"""Re-hash every stored evidence file and recompute every case's chain (`kameng evidence verify`,
and every restore).

Reports changed or missing files, metadata that no longer matches its link, and broken or
reordered links; then cross-checks each case against its anchors (the head after every item,
recorded outside the items' rows with an HMAC of the server key): a deleted newest item, or an
item rewritten with the chain recomputed after it, no longer matches. The command exits 1 on
any problem, so it can run from cron or CI.
"""

import hashlib
import hmac
from dataclasses import dataclass, field

from .models import ChainAnchor, Evidence
from .services import GENESIS, anchor_mac, chain_link, chain_meta

CHUNK = 1024 * 1024


@dataclass
class Report:
    cases: int = 0
    items: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def item_digest(item: Evidence) -> tuple[str, int]:
    """SHA-256 and size of an item's bytes, read in chunks: a stored file through the storage API,
    a system text from its row."""
    digest = hashlib.sha256()
    size = 0
    with item.open() as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def verify(case_id: int | None = None) -> Report:
    report = Report()
    qs = Evidence.objects.order_by("case_id", "seq")
    if case_id is not None:
        qs = qs.filter(case_id=case_id)
    current_case, prev, expected_seq = None, GENESIS, 1
    heads: dict[int, str] = {}  # seq → chain of the current case's items
    for item in qs.iterator(chunk_size=500):
        if item.case_id != current_case:
            if current_case is not None:
                check_anchors(current_case, heads, report)
            current_case, prev, expected_seq, heads = item.case_id, GENESIS, 1, {}
            report.cases += 1
        heads[item.seq] = item.chain
        report.items += 1
        name = f"case {item.case_id} item {item.pk} (#{item.seq} {item.filename})"
        if item.seq != expected_seq:
            report.problems.append(f"{name}: sequence gap, expected #{expected_seq}")
        if item.prev != prev:
            report.problems.append(f"{name}: broken link, prev does not match the previous item's chain")
        if item.chain != chain_link(item.prev, item.sha256, chain_meta(item)):
            report.problems.append(f"{name}: chain value does not match its content hash and metadata")
        try:
            digest, size = item_digest(item)
        except (FileNotFoundError, OSError, ValueError) as exc:
            report.problems.append(f"{name}: stored file missing ({item.file.name}: {exc.__class__.__name__})")
        else:
            if digest != item.sha256:
                report.problems.append(f"{name}: file changed, sha256 {digest} but recorded {item.sha256}")
            elif size != item.size:
                report.problems.append(f"{name}: size {size} but recorded {item.size}")
        prev, expected_seq = item.chain, item.seq + 1
    if current_case is not None:
        check_anchors(current_case, heads, report)
    anchored = ChainAnchor.objects.exclude(case_id__in=qs.values("case_id")).values_list("case_id", flat=True)
    if case_id is not None:
        anchored = anchored.filter(case_id=case_id)
    for orphan in sorted(set(anchored)):
        report.cases += 1
        check_anchors(orphan, {}, report)
    return report


def check_anchors(case_id: int, heads: dict[int, str], report: Report) -> None:
    """The case's items against its anchors: as many, each head as anchored, each anchor signed."""
    anchors = list(ChainAnchor.objects.filter(case_id=case_id).order_by("seq").values_list("seq", "head", "mac"))
    if len(anchors) != len(heads):
        report.problems.append(
            f"case {case_id}: {len(heads)} item(s) but {len(anchors)} anchored (items deleted or added behind its back)"
        )
    for seq, head, mac in anchors:
        if not hmac.compare_digest(mac, anchor_mac(case_id, seq, head)):
            report.problems.append(f"case {case_id} anchor #{seq}: HMAC does not match (anchor forged or rewritten)")
        elif seq not in heads:
            report.problems.append(f"case {case_id} item #{seq}: anchored but missing")
        elif heads[seq] != head:
            report.problems.append(f"case {case_id} item #{seq}: chain differs from the head anchored with it")


def case_exists(case_id: int) -> bool:
    """Whether refund case `case_id` exists, read through the vault's own link to cases (the vault
    sits below aftersales and never imports it)."""
    cases = Evidence._meta.get_field("case").related_model._default_manager
    return cases.filter(pk=case_id).exists()
