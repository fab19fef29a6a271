"""Builders for complaint-package tests: orders and cases driven over HTTP, evidence uploads, ZIP reading."""

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

RATIONALE = "依据类目规则：激活码可用性存疑，但买家已激活过一次，部分退款"


@pytest.fixture
def order_for(api, buyer, merchant, make_listing, fund, buy):
    """A delivered order on a listing built from `overrides` (defaults: ¥99 card key promising "100%稳定激活")."""

    def make(**overrides):
        listing = make_listing(merchant, **overrides)
        fund(buyer, listing["price"] * 2)
        return buy(buyer, listing, accept_special_terms=True)  # customized goods ask for it; others ignore it

    return make


@pytest.fixture
def upload(api):
    def add(case, user, name, data, category="problem", note=""):
        res = api.client.post(
            f"/api/v1/refunds/{case['id']}/evidence",
            {"file": SimpleUploadedFile(name, data), "category": category, "note": note},
            headers={"Authorization": f"Bearer {user.token}"},
        )
        assert res.status_code == 201, res.content
        return res.json()

    return add


@pytest.fixture
def png_bytes():
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 60), "white")
    ImageDraw.Draw(image).text((8, 20), "ERROR 0x8007007B", fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def case_obj():
    def get(case):
        from kameng.aftersales.models import RefundCase

        return RefundCase.objects.get(pk=case["id"])

    return get


class Package:
    def __init__(self, data: bytes):
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.manifest = json.loads(self.zip.read("manifest.json"))

    def names(self) -> list[str]:
        return self.zip.namelist()

    def read(self, name: str) -> bytes:
        return self.zip.read(name)

    def text(self) -> str:
        return self.zip.read("complaint.txt").decode("utf-8")

    def pdf_text(self) -> str:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(self.zip.read("complaint.pdf")))
        return "".join(page.extract_text() or "" for page in reader.pages)


@pytest.fixture
def open_package():
    return Package


def squash(text: str) -> str:
    """Text without whitespace: PDF extraction breaks lines wherever the layout wrapped them."""
    return "".join(text.split())


@pytest.fixture(autouse=True)
def arbitration_clause(settings):
    """These tests run for an operator whose user agreement has an arbitration clause (so all four
    channels are available); tests of the no-clause case set it back to ""."""
    settings.ARBITRATION_COMMISSION = "广州仲裁委员会"
    return settings
