"""Reading documents into structure: title plus a flat list of headings, paragraphs, tables.

One reader per format, each built on a well-kept parser: markdown-it-py for
Markdown, Beautiful Soup (lxml) for HTML, pypdf for PDF, python-docx for DOCX.
Every reader returns `Parsed`, so chunking never knows the format. A document
that cannot be read (corrupt, empty, an unknown type, too large) raises
`ValidationFailed` naming the document, never a parser's own exception: parsers
fail in many ways on hostile input, so `read_document` is their one edge.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

from mcp_servers.kb.models import MediaType
from mcp_servers.kit.errors import ValidationFailed

logger = logging.getLogger("tessera.kb.parsing")

EXTENSIONS = {
    ".md": MediaType.MARKDOWN, ".markdown": MediaType.MARKDOWN, ".txt": MediaType.TEXT,
    ".text": MediaType.TEXT, ".html": MediaType.HTML, ".htm": MediaType.HTML,
    ".pdf": MediaType.PDF, ".docx": MediaType.DOCX,
}
ALIASES = {"text/x-markdown": MediaType.MARKDOWN, "application/xhtml+xml": MediaType.HTML}


@dataclass(frozen=True)
class Block:
    """One structural unit: a heading (with its level), a paragraph, or a whole table."""

    kind: str  # "heading" | "text" | "table"
    text: str
    level: int = 0


@dataclass(frozen=True)
class Parsed:
    title: str | None
    blocks: list[Block]


def media_type_of(source_uri: str, declared: str | None, data: bytes) -> MediaType:
    """The declared type, else the URI's extension, else what the bytes look like."""
    if declared:
        value = declared.split(";")[0].strip().lower()
        if value in ALIASES:
            return ALIASES[value]
        try:
            return MediaType(value)
        except ValueError:
            raise _bad(f"The media type {value!r} is not one the knowledge base reads.",
                       "Send Markdown, plain text, HTML, PDF or DOCX.") from None
    suffix = PurePosixPath(urlparse(source_uri).path or source_uri).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if data.startswith(b"%PDF-"):
        return MediaType.PDF
    raise _bad("The document's type is unknown: no media type and no known file extension.",
               "Set media_type, or use a URI ending in .md, .txt, .html, .pdf or .docx.")


def read_document(data: bytes, media_type: MediaType) -> Parsed:
    """Parse `data`; any failure of the parser is the document's fault (`validation`)."""
    if not data.strip():
        raise _bad("The document is empty.", "Send a document with content.")
    try:
        parsed = READERS[media_type](data)
    except ValidationFailed:
        raise
    except Exception:  # parsers raise anything on hostile input; it is always a bad file
        logger.info("unreadable %s document", media_type.value, exc_info=True)
        raise _bad(f"The document could not be read as {media_type.value}; it may be corrupt.",
                   "Check that the file opens, and that media_type matches it.") from None
    if not any(block.text.strip() for block in parsed.blocks):
        raise _bad("The document contains no text.",
                   "Scanned PDFs need OCR first; send a document with text.")
    return parsed


def _bad(message: str, hint: str) -> ValidationFailed:
    return ValidationFailed(message, model_fix_hint=hint)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("The document is not UTF-8 text.", "Convert the text to UTF-8.") from None


def _clean(text: str) -> str:
    return re.sub(r"[ \t\u00a0]+", " ", text).strip()


def _paragraphs(text: str) -> list[Block]:
    parts = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    return [Block("text", _clean(part.replace("\n", " "))) for part in parts if part.strip()]


def read_text(data: bytes) -> Parsed:
    return Parsed(None, _paragraphs(_decode(data)))


def read_markdown(data: bytes) -> Parsed:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(_decode(data))
    blocks: list[Block] = []
    row: list[str] = []
    table: list[str] | None = None
    heading_level = 0
    list_depth = 0
    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "heading_close":
            heading_level = 0
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif token.type == "table_open":
            table = []
        elif token.type == "table_close" and table is not None:
            blocks.append(Block("table", "\n".join(table)))
            table = None
        elif token.type == "tr_close" and table is not None:
            table.append(" | ".join(row))
            row = []
        elif token.type in ("fence", "code_block"):
            blocks.append(Block("text", token.content.strip()))
        elif token.type == "inline":
            text = _inline_text(token)
            if table is not None:
                row.append(text)
            elif heading_level:
                blocks.append(Block("heading", text, heading_level))
            elif text:
                blocks.append(Block("text", f"- {text}" if list_depth else text))
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return Parsed(title, blocks)


def _inline_text(token: object) -> str:
    parts = []
    for child in getattr(token, "children", None) or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return _clean("".join(parts))


HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "pre", "dt", "dd"]


def read_html(data: bytes) -> Parsed:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    for noise in soup(["script", "style", "noscript", "nav", "template"]):
        noise.decompose()
    blocks: list[Block] = []
    for element in soup.find_all(HTML_BLOCKS):
        if element.find_parent(["table", "li", "pre"]):
            continue  # its text belongs to the enclosing table, item or code block
        if element.name == "table":
            rows = [" | ".join(_clean(cell.get_text(" ")) for cell in tr.find_all(["th", "td"]))
                    for tr in element.find_all("tr")]
            blocks.append(Block("table", "\n".join(r for r in rows if r.strip(" |"))))
        elif element.name[0] == "h" and element.name[1:].isdigit():
            blocks.append(Block("heading", _clean(element.get_text(" ")), int(element.name[1])))
        else:
            text = _clean(element.get_text(" "))
            if text:
                blocks.append(Block("text", f"- {text}" if element.name == "li" else text))
    if not blocks and soup.body is not None:
        blocks = _paragraphs(soup.body.get_text("\n\n"))
    title_tag = soup.find("title")
    title = _clean(title_tag.get_text()) if title_tag else None
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return Parsed(title or None, blocks)


def read_pdf(data: bytes) -> Parsed:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise _bad("The PDF is encrypted.", "Send an unencrypted copy of the PDF.")
    blocks: list[Block] = []
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        if text.strip():
            # Pages are the structure a PDF reliably has; they become the section path.
            blocks.append(Block("heading", f"Page {number}", 1))
            blocks.extend(_paragraphs(text))
    metadata = reader.metadata
    title = _clean(metadata.title) if metadata is not None and metadata.title else None
    return Parsed(title or None, blocks)


def read_docx(data: bytes) -> Parsed:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    blocks: list[Block] = []
    title = _clean(document.core_properties.title or "") or None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [" | ".join(_clean(cell.text) for cell in row.cells) for row in item.rows]
            blocks.append(Block("table", "\n".join(r for r in rows if r.strip(" |"))))
            continue
        text = _clean(item.text)
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if style == "Title":
            title = title or text
        elif style.startswith("Heading") and style[7:].strip().isdigit():
            blocks.append(Block("heading", text, int(style[7:].strip())))
        else:
            blocks.append(Block("text", f"- {text}" if style.startswith("List") else text))
    return Parsed(title, blocks)


READERS = {
    MediaType.MARKDOWN: read_markdown,
    MediaType.TEXT: read_text,
    MediaType.HTML: read_html,
    MediaType.PDF: read_pdf,
    MediaType.DOCX: read_docx,
}
