"""Hostile inputs built at test time: payloads under filters clamd does not decode, and decompression bombs.

Nothing here is stored in the repository as a file: each builder returns bytes, small enough to build in a test.
"""

import base64
import io
import zlib

import pikepdf
from pikepdf import Array, Dictionary, Name, String
from PIL import Image

from .pdfs import _base

# --- encoders for the PDF filters (clamd decodes Flate and the ASCII ones in page streams, not LZW) -------------


def lzw_encode(data: bytes) -> bytes:
    """PDF LZWDecode with EarlyChange 1: MSB-first codes of 9 to 12 bits, a clear code first, EOD last.

    The decoder adds a table entry one code later than the encoder, so a wider code starts one code late.
    """
    out = bytearray()
    acc = nbits = 0
    width, widen = 9, False

    def emit(code: int) -> None:
        nonlocal acc, nbits, width, widen
        acc = (acc << width) | code
        nbits += width
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
        acc &= (1 << nbits) - 1
        if widen:
            width, widen = width + 1, False

    table = {bytes([i]): i for i in range(256)}
    next_code = 258
    emit(256)
    word = b""
    for value in data:
        longer = word + bytes([value])
        if longer in table:
            word = longer
            continue
        emit(table[word])
        table[longer] = next_code
        widen = widen or next_code + 1 in (511, 1023, 2047)
        next_code += 1
        word = bytes([value])
        if next_code >= 4000:
            emit(256)
            table = {bytes([i]): i for i in range(256)}
            next_code, width, widen = 258, 9, False
    if word:
        emit(table[word])
    emit(257)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


def runlength_encode(data: bytes) -> bytes:
    """PDF RunLengthDecode in literal runs of 7 bytes (so no longer string survives in the encoded bytes), then
    the EOD byte 128."""
    out = bytearray()
    for start in range(0, len(data), 7):
        piece = data[start : start + 7]
        out.append(len(piece) - 1)
        out.extend(piece)
    out.append(128)
    return bytes(out)


ENCODERS = {
    "/LZWDecode": lzw_encode,
    "/RunLengthDecode": runlength_encode,
    "/ASCII85Decode": lambda data: base64.a85encode(data) + b"~>",
    "/ASCIIHexDecode": lambda data: data.hex().encode() + b">",
    "/FlateDecode": zlib.compress,
}


def encode(data: bytes, filters: list[str]) -> bytes:
    """Data encoded so that decoding with `filters` (first filter applied first) gives it back."""
    for name in reversed(filters):
        data = ENCODERS[name](data)
    return data


def _filter(filters: list[str]):
    return Name(filters[0]) if len(filters) == 1 else Array([Name(f) for f in filters])


def _saved(pdf: pikepdf.Pdf, **options) -> bytes:
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none, **options)
    return out.getvalue()


def pdf_with_payload(payload: bytes, filters: list[str], *, place: str = "page") -> bytes:
    """A one-page PDF with TEXT whose `place` carries `payload` under `filters`:

    "page": a second page content stream; "xobject": a form XObject drawn with Do; "inline": the data of an inline
    image in a page content stream; "objstm": a string in an object kept in a compressed object stream.
    """
    pdf = _base()
    page = pdf.pages[0]
    body = b"% " + payload + b"\n"
    stream = pdf.make_stream(b"")
    stream.write(encode(body, filters), filter=_filter(filters))
    if place == "page":
        page.obj.Contents = Array([page.obj.Contents, stream])
    elif place == "xobject":
        stream.Type, stream.Subtype, stream.BBox = Name.XObject, Name.Form, Array([0, 0, 10, 10])
        page.obj.Resources.XObject = Dictionary(Fx=stream)
        drawing = pdf.make_stream(b"")
        drawing.write(encode(b"q /Fx Do Q\n", filters), filter=_filter(filters))
        page.obj.Contents = Array([page.obj.Contents, drawing])
    elif place == "inline":
        # An inline image (BI ... ID ... EI) in the page's content, its data under `filters` (abbreviated names).
        abbreviations = {"/LZWDecode": "/LZW", "/RunLengthDecode": "/RL", "/ASCII85Decode": "/A85",
                         "/ASCIIHexDecode": "/AHx", "/FlateDecode": "/Fl"}  # fmt: skip
        names = " ".join(abbreviations[f] for f in filters)
        data = encode(payload + bytes(64 * 8 - len(payload)), filters)
        stream.write(
            b"q 8 0 0 8 72 600 cm BI /W 64 /H 8 /BPC 8 /CS /G /F [" + names.encode() + b"] ID " + data + b" EI Q\n"
        )
        page.obj.Contents = Array([page.obj.Contents, stream])
    elif place == "objstm":
        # The payload as a string in an ordinary object: qpdf packs it into an object stream, compressed.
        page.obj.PieceInfo = pdf.make_indirect(Dictionary(Note=String(payload)))
        return _objstm_saved(pdf, filters)
    else:
        raise ValueError(place)
    return _saved(pdf)


def _objstm_saved(pdf: pikepdf.Pdf, filters: list[str]) -> bytes:
    """Saved with object streams (qpdf writes them Flate), each then re-encoded with `filters` in the raw file."""
    packed = io.BytesIO()
    pdf.save(packed, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    return _reencode_objstm(packed.getvalue(), filters)


def _reencode_objstm(data: bytes, filters: list[str]) -> bytes:
    """Rewrite each `/Type /ObjStm` stream of a qpdf-written file with `filters`, fixing /Length and the offsets
    of the cross-reference stream by letting qpdf rebuild them (pikepdf reopens and saves without object streams
    of its own making: preserve keeps the rewritten ones)."""
    out = bytearray()
    pos = 0
    while True:
        start = data.find(b"/Type /ObjStm", pos)
        if start < 0:
            break
        dict_start = data.rfind(b"<<", 0, start)
        stream_kw = data.find(b"stream\n", start)
        dict_end = stream_kw
        header = data[dict_start:dict_end]
        length = int(header.split(b"/Length ")[1].split()[0].strip(b">/"))
        raw = data[stream_kw + 7 : stream_kw + 7 + length]
        plain = zlib.decompress(raw)
        encoded = encode(plain, filters)
        fixed = header.replace(b"/Filter /FlateDecode", b"/Filter " + _filter_bytes(filters)).replace(
            b"/Length %d" % length, b"/Length %d" % len(encoded)
        )
        out += data[pos:dict_start] + fixed + b"stream\n" + encoded
        pos = stream_kw + 7 + length
    out += data[pos:]
    return bytes(out)


def _filter_bytes(filters: list[str]) -> bytes:
    if len(filters) == 1:
        return filters[0].encode()
    return b"[" + b" ".join(f.encode() for f in filters) + b"]"


# --- decompression bombs --------------------------------------------------------------------------------------


def zeros_deflated(size: int, *, chunk: int = 16 * 2**20) -> bytes:
    """`size` zero bytes Flate-compressed (1 GiB gives about 1 MB) in well under a second: one chunk is deflated
    after a full flush (which resets the compressor, so every later chunk deflates to the same bytes) and
    repeated; the checksum of n zeros is known."""
    assert size % chunk == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)
    adler = (size % 65521) << 16 | 1  # Adler-32 of zeros: a stays 1, b adds 1 per byte
    return b"\x78\xda" + block * (size // chunk) + end + adler.to_bytes(4, "big")


def flate_bomb_pdf(size: int = 2**30, *, streams: int = 1) -> bytes:
    """TEXT on a page plus `streams` more content streams that inflate to `size` zero bytes in all."""
    pdf = _base()
    page = pdf.pages[0]
    bomb = zeros_deflated(size // streams, chunk=min(16 * 2**20, size // streams))
    contents = [page.obj.Contents]
    for _ in range(streams):
        stream = pdf.make_stream(b"")
        stream.write(bomb, filter=Name.FlateDecode)
        contents.append(stream)
    page.obj.Contents = Array(contents)
    return _saved(pdf)


def image_bomb_pdf(size: int = 2**30) -> bytes:
    """An image XObject of `size` bytes of grey pixels (Flate-compressed to almost nothing), drawn on the page."""
    pdf = _base()
    page = pdf.pages[0]
    side = 2 ** (size.bit_length() // 2)  # a square of `size` bytes (size a power of 4)
    image = pdf.make_stream(b"")
    image.write(zeros_deflated(side * side, chunk=min(16 * 2**20, side * side)), filter=Name.FlateDecode)
    image.Type, image.Subtype = Name.XObject, Name.Image
    image.Width = image.Height = side
    image.ColorSpace, image.BitsPerComponent = Name.DeviceGray, 8
    page.obj.Resources.XObject = Dictionary(Im0=image)
    drawing = pdf.make_stream(b"q 100 0 0 100 72 500 cm /Im0 Do Q")
    page.obj.Contents = Array([page.obj.Contents, drawing])
    return _saved(pdf)


def embedded_under_custom_key(payload: bytes) -> bytes:
    """An embedded file under a catalog key of our own (/Root/Custom/FS/EF): no name tree, no annotation."""
    pdf = _base()
    stream = pdf.make_stream(payload, Type=Name.EmbeddedFile)
    spec = pdf.make_indirect(Dictionary(Type=Name.Filespec, F=String("a.exe"), EF=Dictionary(F=stream)))
    pdf.Root.Custom = Dictionary(FS=spec)
    return _saved(pdf)


def progressive_jpeg_declaring(width: int, height: int) -> bytes:
    """A small progressive 4:4:4 JPEG whose frame header declares width x height: decoding it makes libjpeg
    allocate coefficient buffers for the whole declared image (about width*height*3*2 bytes) before any data."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 60, 30)).save(out, "JPEG", progressive=True, subsampling=0, quality=80)
    data = bytearray(out.getvalue())
    sof = data.find(b"\xff\xc2")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def png_declaring(width: int, height: int, *, mode: str = "1") -> bytes:
    """A PNG of width x height in `mode` (1 bit per pixel by default: a pixel flood in a few hundred kilobytes)."""
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()
