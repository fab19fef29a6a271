"""Offline OCR of Chinese and English text in screenshots and video frames.

RapidOCR 3.x on ONNX Runtime with the PP-OCRv6 detection and recognition models that ship
inside the rapidocr wheel. The model paths are given explicitly, so RapidOCR never reaches
its download code: nothing is fetched at run time, ever.
"""

import threading
from pathlib import Path

from PIL import Image

MAX_WIDTH = 2000
TILE_RATIO = 1.5  # a long phone screenshot is read in tiles 1.5 x its width tall
MAX_TILES = 8
MIN_SIDE = 8

_engine = None
_lock = threading.Lock()


def model_files() -> dict[str, Path]:
    """The ONNX models inside the installed rapidocr package (detection, recognition)."""
    import rapidocr

    root = Path(rapidocr.__file__).resolve().parent / "models"
    return {"det": root / "PP-OCRv6_det_small.onnx", "rec": root / "PP-OCRv6_rec_small.onnx"}


def engine_name() -> str:
    import rapidocr

    return f"rapidocr {getattr(rapidocr, '__version__', '?')} PP-OCRv6 small"


def _get_engine():
    global _engine
    if _engine is None:
        from rapidocr import RapidOCR

        files = model_files()
        missing = [str(p) for p in files.values() if not p.is_file()]
        if missing:  # never fall back to RapidOCR's downloader
            raise RuntimeError(f"OCR models missing from the rapidocr wheel: {missing}")
        _engine = RapidOCR(
            params={
                "Global.log_level": "critical",
                "Global.use_cls": False,  # screenshots are upright; saves a model run per line
                "Det.model_path": str(files["det"]),
                "Rec.model_path": str(files["rec"]),
                "Det.limit_type": "max",
                "Det.limit_side_len": 1280,
                "EngineConfig.onnxruntime.intra_op_num_threads": 2,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
    return _engine


def read_text(image: Image.Image) -> str:
    """The text lines found in an RGB image, top to bottom, one per line."""
    import numpy as np

    if min(image.size) < MIN_SIDE:
        return ""
    if image.width > MAX_WIDTH:
        image = image.resize(
            (MAX_WIDTH, max(1, round(image.height * MAX_WIDTH / image.width))), Image.Resampling.LANCZOS
        )
    lines: list[str] = []
    with _lock:
        engine = _get_engine()
        for tile in _tiles(image):
            result = engine(np.asarray(tile.convert("RGB"))[:, :, ::-1])
            for text in result.txts or ():
                if text and (not lines or lines[-1] != text):
                    lines.append(text)
    return "\n".join(lines)


def _tiles(image: Image.Image):
    width, height = image.size
    tile_height = int(width * TILE_RATIO)
    if height <= tile_height * 1.2:
        yield image
        return
    step = int(tile_height * 0.9)  # overlap so a line cut by one tile is whole in the next
    for i, top in enumerate(range(0, height, step)):
        if i >= MAX_TILES:
            break
        yield image.crop((0, top, width, min(height, top + tile_height)))
        if top + tile_height >= height:
            break
