"""Real recordings and photos in the formats phones write and browsers cannot show: AMR-NB
encoded from a tone by the opencore AMR encoder (Debian's ffmpeg decodes AMR but has no AMR
encoder, so the encoder library is called directly), and HEIC encoded by pillow-heif."""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import math
import shutil

from PIL import Image

from .prerequisites import needs

AMR_LIBRARY = ctypes.util.find_library("opencore-amrnb")
FFMPEG = shutil.which("ffmpeg")

needs_ffmpeg = needs(
    FFMPEG is not None, "ffmpeg is not installed (apt-get install ffmpeg): no playable copies"
)
needs_amr_encoder = needs(
    AMR_LIBRARY is not None,
    "the AMR-NB encoder library is not installed (apt-get install libopencore-amrnb0)",
)

MR122 = 7  # AMR-NB at 12.2 kbit/s, what call recorders write
FRAME_SAMPLES = 160  # 20 ms at 8 kHz


def amr_recording(seconds: float = 2.0, hz: float = 440.0) -> bytes:
    """An AMR-NB file (RFC 4867 storage format) of a tone, `seconds` long."""
    assert AMR_LIBRARY is not None
    library = ctypes.CDLL(AMR_LIBRARY)
    library.Encoder_Interface_init.restype = ctypes.c_void_p
    library.Encoder_Interface_init.argtypes = [ctypes.c_int]
    library.Encoder_Interface_Encode.restype = ctypes.c_int
    library.Encoder_Interface_Encode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_short),
        ctypes.POINTER(ctypes.c_ubyte),
        ctypes.c_int,
    ]
    library.Encoder_Interface_exit.argtypes = [ctypes.c_void_p]
    encoder = library.Encoder_Interface_init(0)
    out = bytearray(b"#!AMR\n")
    try:
        speech = (ctypes.c_short * FRAME_SAMPLES)()
        frame = (ctypes.c_ubyte * 64)()
        for index in range(int(seconds * 50)):
            for sample in range(FRAME_SAMPLES):
                t = (index * FRAME_SAMPLES + sample) / 8000
                speech[sample] = int(8000 * math.sin(2 * math.pi * hz * t))
            size = library.Encoder_Interface_Encode(encoder, MR122, speech, frame, 0)
            out += bytes(frame[:size])
    finally:
        library.Encoder_Interface_exit(encoder)
    return bytes(out)


def heic_photo(width: int = 320, height: int = 240) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    picture = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "HEIF", quality=60)
    return out.getvalue()
