"""Render an outline as a document a person can paste into a wiki: Markdown or HTML.

Every value is user input. In HTML each one is escaped, and `markdown` values are rendered by
markdown-it-py with raw HTML turned off (tags come out as text), links kept only when
``safe_link`` allows their target (relative, http, https, mailto: never ``javascript:``,
``data:``, ``vbscript:``) and images turned off (an image would be loaded from wherever it
points when the page is opened; ``![alt](url)`` shows as "!" and a link). In Markdown, which
wikis often render with inline HTML allowed, ``<`` is written as ``&lt;`` so no tag
survives, plain text values have Markdown's punctuation escaped so a title with ``*`` or
``#`` shows as typed, and a `markdown` value with an image or a link ``safe_link`` refuses is
written as plain text (its markup escaped): the wiki's own renderer decides what is live
there, so such a value is given nothing to render. Pure: no I/O."""

import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt

from .schemas import TemplateField

FORMATS = {"markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}
# The HTML document needs nothing from anywhere: no scripts, no remote loads.
HTML_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "X-Content-Type-Options": "nosniff"}

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]")  # browsers drop these in a scheme


def safe_link(url: str) -> bool:
    """Whether a link target may stay live: relative, or http(s)/mailto. Read as a browser
    would (entities and %-escapes decoded, whitespace and control characters dropped), so
    ``jav&#x61;script:`` or ``java%09script:`` is refused too."""
    text = _IGNORED_IN_URLS.sub("", unquote(html.unescape(url))).lower()
    scheme = _SCHEME.match(text)
    return scheme is None or scheme.group(1) in SAFE_SCHEMES


_markdown = MarkdownIt("commonmark", {"html": False}).disable("image")
_markdown.validateLink = safe_link
# Parses a value as a wiki would (every link target accepted) to see what it links to.
_inspector = MarkdownIt("commonmark", {"html": False})
_inspector.validateLink = lambda url: True
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")  # would start emphasis, code, links, tables
_MD_BLOCK = re.compile(r"^([#>+=-])")  # would start a heading, quote or list item
_MD_NUMBERED = re.compile(r"^(\d+)([.)])")  # would start a numbered list
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;"
          "padding:0 1rem;line-height:1.5}dl.meta{display:grid;grid-template-columns:auto 1fr;"
          "gap:.2rem 1rem}dt{font-weight:600}")


@dataclass
class Document:
    title: str
    status: str
    template_name: str
    template_key: str
    template_version: int
    fields: list[TemplateField]
    values: dict[str, Any]
    person: str | None = None
    owner: str | None = None
    assessment_id: str | None = None
    competencies: list[str] = field(default_factory=list)

    def metadata(self) -> list[tuple[str, str]]:
        template = f"{self.template_name} ({self.template_key} v{self.template_version})"
        rows = [("Template", template), ("Status", self.status)]
        rows += [(label, value) for label, value in (
            ("Person", self.person), ("Owner", self.owner), ("Assessment", self.assessment_id),
            ("Competencies", ", ".join(self.competencies))) if value]
        return rows

    def sections(self) -> list[tuple[str | None, TemplateField, Any]]:
        """(group, field, value) of each filled-in field, in template order."""
        return [(f.group, f, self.values[f.key]) for f in self.fields if f.key in self.values]


def render(doc: Document, fmt: str) -> str:
    return to_markdown(doc) if fmt == "markdown" else to_html(doc)


def option_label(option: str) -> str:
    """``organisational_debt`` -> ``Organisational debt``."""
    words = re.sub(r"[_-]+", " ", option).strip()
    return words[:1].upper() + words[1:]


def _scalar(f: TemplateField, value: Any) -> str:
    return option_label(value) if f.type == "enum" else str(value)


# --- Markdown --------------------------------------------------------------------------------

def md_text(value: str) -> str:
    """Plain text shown as typed: Markdown punctuation escaped, no HTML tag possible."""
    escaped = _MD_INLINE.sub(r"\\\1", value).replace("&", "&amp;").replace("<", "&lt;")
    lines = (_MD_NUMBERED.sub(r"\1\\\2", _MD_BLOCK.sub(r"\\\1", line.strip()))
             for line in escaped.splitlines())
    return "  \n".join(lines)


def md_markdown(value: str) -> str:
    """A Markdown value kept as Markdown, with every would-be HTML tag made literal text; as
    plain text when it holds an image or a link to a refused target."""
    if not _renders_safely(value):
        return md_text(value)
    return value.replace("<", "&lt;").strip()


def _renders_safely(value: str) -> bool:
    for block in _inspector.parse(value):
        for token in block.children or ():
            if token.type == "image":
                return False
            if token.type == "link_open" and not safe_link(str(token.attrGet("href") or "")):
                return False
    return True


def _md_value(f: TemplateField, value: Any) -> str:
    if f.type == "markdown":
        return md_markdown(value)
    if isinstance(value, list):
        return "\n".join(f"- {md_text(_scalar(f, item))}" for item in value)
    return md_text(_scalar(f, value))


def to_markdown(doc: Document) -> str:
    out = [f"# {md_text(doc.title)}", ""]
    out += [f"- **{label}:** {md_text(value)}" for label, value in doc.metadata()]
    current_group = None
    for group, f, value in doc.sections():
        heading = "##"
        if group:
            if group != current_group:
                out += ["", f"## {md_text(group)}"]
            heading = "###"
        current_group = group
        out += ["", f"{heading} {md_text(f.label)}", "", _md_value(f, value)]
    return "\n".join(out) + "\n"


# --- HTML ------------------------------------------------------------------------------------

def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _html_value(f: TemplateField, value: Any) -> str:
    if f.type == "markdown":
        return f'<div class="markdown">{_markdown.render(value)}</div>'
    if isinstance(value, list):
        items = "".join(f"<li>{_esc(_scalar(f, item))}</li>" for item in value)
        return f"<ul>{items}</ul>"
    text = _esc(_scalar(f, value)).replace("\n", "<br>")
    return f"<p>{text}</p>"


def to_html(doc: Document) -> str:
    meta = "".join(f"<dt>{_esc(label)}</dt><dd>{_esc(value)}</dd>"
                   for label, value in doc.metadata())
    body = [f"<h1>{_esc(doc.title)}</h1>", f'<dl class="meta">{meta}</dl>']
    current_group = None
    for group, f, value in doc.sections():
        if group != current_group and current_group:
            body.append("</section>")
        if group and group != current_group:
            body.append(f"<section><h2>{_esc(group)}</h2>")
        current_group = group
        tag = "h3" if group else "h2"
        body.append(f"<{tag}>{_esc(f.label)}</{tag}>{_html_value(f, value)}")
    if current_group:
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
            f"<title>{_esc(doc.title)}</title><style>{_STYLE}</style></head>\n"
            f"<body><article>\n{chr(10).join(body)}\n</article></body>\n</html>\n")
