"""Reading pictures out of evidence for analysis: images with bomb limits, a few video frames
(PyAV, FFmpeg bundled in its wheel), and perceptual hashes. Reads only; never writes the item."""

import io
import warnings

from PIL import Image, ImageOps, ImageStat

from kameng.evidence.uploads import MAX_DECODED_BYTES, MAX_PIXELS, decode_slot, decoded_bytes

FRAME_POSITIONS = (0.1, 0.5, 0.9)  # where in a video to take frames (share of its duration)
ANALYSIS_WIDTH = 2000  # OCR reads at most this wide (kameng.arbitration.ocr.MAX_WIDTH)
PREVIEW_BOX = 640
MAX_DECODED_FRAMES = 400  # per seek, so a video without keyframes cannot make us decode it all


def open_image(fileobj) -> Image.Image:
    """The first frame as RGB at most ANALYSIS_WIDTH wide, with EXIF orientation applied; refuses
    decompression bombs. A JPEG is scaled while it decodes (from the DCT data); anything else is
    reduced right after decoding, inside the process's decode slot, so only the small copy lives on."""
    with warnings.catch_warnings(), decode_slot():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(fileobj) as im:
            if im.width * im.height > MAX_PIXELS or decoded_bytes(im) > MAX_DECODED_BYTES:
                raise Image.DecompressionBombError("too many pixels")
            im.seek(0)
            if im.format == "JPEG" and im.width > ANALYSIS_WIDTH:
                im.draft("RGB", (ANALYSIS_WIDTH, round(im.height * ANALYSIS_WIDTH / im.width)))
            im.load()
            if im.width > ANALYSIS_WIDTH:
                base = im if im.mode in ("L", "LA", "RGB", "RGBA") else im.convert("RGB")
                small = base.reduce(-(-im.width // ANALYSIS_WIDTH))  # ceil: at most ANALYSIS_WIDTH wide
            else:
                small = im.copy()
        upright = ImageOps.exif_transpose(small)
        return upright.convert("RGB")


def video_frames(fileobj, positions=FRAME_POSITIONS) -> list[Image.Image]:
    """Frames at the given shares of the video's duration (the first frames if it has none)."""
    import av

    frames: list[Image.Image] = []
    with av.open(fileobj, mode="r") as container:
        if not container.streams.video:
            return frames
        stream = container.streams.video[0]
        if (stream.codec_context.width or 0) * (stream.codec_context.height or 0) > MAX_PIXELS:
            return frames
        duration = None
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        if not duration:
            for i, frame in enumerate(container.decode(stream)):
                if i in (0, 15, 30):
                    frames.append(frame.to_image().convert("RGB"))
                if len(frames) == len(positions) or i >= MAX_DECODED_FRAMES:
                    break
            return frames
        for share in positions:
            target = duration * share
            frame = _frame_at(container, stream, target)
            if frame is not None:
                frames.append(frame)
    return frames


def _frame_at(container, stream, seconds: float):
    offset = int(seconds / stream.time_base) if stream.time_base else 0
    try:
        container.seek(offset, stream=stream, backward=True, any_frame=False)
    except Exception:
        return None
    last = None
    for i, frame in enumerate(container.decode(stream)):
        last = frame
        if frame.time is None or frame.time >= seconds - 0.05 or i >= MAX_DECODED_FRAMES:
            break
    return last.to_image().convert("RGB") if last is not None else None


def preview_jpeg(image: Image.Image, box: int = PREVIEW_BOX) -> bytes:
    """A re-encoded thumbnail (no metadata, at most `box` pixels a side): safe to show inline."""
    thumb = image.convert("RGB").copy()
    thumb.thumbnail((box, box), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80, optimize=True)
    return buf.getvalue()


def _difference_bits(image: Image.Image, size: int) -> int:
    small = image.convert("L").resize((size + 1, size), Image.Resampling.LANCZOS)
    px = small.load()
    assert px is not None
    bits = 0
    for y in range(size):
        for x in range(size):
            bits = (bits << 1) | (1 if px[x, y] > px[x + 1, y] else 0)  # type: ignore[operator]  # an L image: ints
    return bits


def dhash(image: Image.Image) -> str:
    """64-bit difference hash as 16 hex digits."""
    return f"{_difference_bits(image, 8):016x}"


def fine_hash(image: Image.Image) -> str:
    """256-bit difference hash as 64 hex digits (confirms a 64-bit candidate match)."""
    return f"{_difference_bits(image, 16):064x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def bands(hex64: str) -> list[int]:
    """Six bands of the 64-bit hash (11, 11, 11, 11, 10, 10 bits)."""
    value = int(hex64, 16)
    widths = (11, 11, 11, 11, 10, 10)
    out, shift = [], 64
    for w in widths:
        shift -= w
        out.append((value >> shift) & ((1 << w) - 1))
    return out


def is_featureless(image: Image.Image) -> bool:
    """A blank or nearly uniform picture: its hash says nothing, so it is never matched."""
    stat = ImageStat.Stat(image.convert("L").resize((64, 64)))
    return stat.stddev[0] < 4.0
