from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "kameng.evidence"
    label = "evidence"

    def ready(self):
        from PIL import Image

        from . import tasks  # noqa: F401  (registers the analyse_case job)
        from .uploads import MAX_PIXELS

        # Pillow's decompression-bomb limit for the whole process: it refuses images over twice
        # this (DecompressionBombError) and warns over it; evidence checks turn the warning into
        # an error too and compare width x height themselves before decoding.
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
