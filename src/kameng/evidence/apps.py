from django.apps import AppConfig
from PIL import Image

from .uploads import MAX_PIXELS


class EvidenceConfig(AppConfig):
    name = "kameng.evidence"
    label = "evidence"

    def ready(self):
        # Pillow's decompression-bomb limit for the whole process: it refuses images over twice
        # this (DecompressionBombError) and warns over it; evidence checks turn the warning into
        # an error too and compare width x height themselves before decoding.
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
