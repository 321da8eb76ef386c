"""Checks on rendered charts and reports, shared by the unit, API and browser tests.

SVG is parsed with defusedxml in strict mode (no DTD, no entities, no external anything; a
document that is not well-formed raises), and every element and attribute is checked against
the small vocabulary the charts use: nothing that loads (href, src, url(), @import, <image>,
<use>, <foreignObject>) or runs (<script>, on* handlers, javascript:)."""

import base64
import hashlib
import re
from html.parser import HTMLParser
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

SVG = "{http://www.w3.org/2000/svg}"
SVG_ELEMENTS = {"svg", "title", "desc", "style", "g", "rect", "circle", "line", "polygon",
                "polyline", "path", "text", "tspan"}
SVG_ATTRIBUTES = {"viewBox", "width", "height", "role", "aria-labelledby", "class", "id", "x",
                  "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "points", "text-anchor", "dy",
                  "data-competency", "data-band", "d"}
LOADS = re.compile(r"url\s*\(|@import|https?:|javascript:|data:", re.IGNORECASE)


def parse_svg(data: bytes) -> Element:
    """The root of a strictly parsed, self-contained, script-free SVG document."""
    root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    assert root.tag == SVG + "svg", root.tag
    for node in root.iter():
        assert node.tag.startswith(SVG), f"foreign element {node.tag}"
        name = node.tag.removeprefix(SVG)
        assert name in SVG_ELEMENTS, f"unexpected element <{name}>"
        for attr, value in node.attrib.items():
            assert attr in SVG_ATTRIBUTES, f"unexpected attribute {attr} on <{name}>"
            assert not LOADS.search(value), f"{attr}={value!r} on <{name}> loads something"
        if name == "style":
            assert not LOADS.search(node.text or ""), "the stylesheet loads something"
    labelled = root.get("aria-labelledby", "").split()
    assert root.get("role") == "img" and len(labelled) == 2
    for ident in labelled:
        found = root.find(f".//*[@id='{ident}']")
        assert found is not None and (found.text or "").strip(), f"no text alternative {ident}"
    return root


def svg_text(root: Element) -> str:
    return " ".join("".join(node.itertext()) for node in root.iter(SVG + "text"))


def axes(root: Element) -> list[Element]:
    return [g for g in root.iter(SVG + "g") if "axis" in (g.get("class") or "").split()]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


HTML_ELEMENTS = {"html", "head", "meta", "link", "title", "style", "body", "header", "main",
                 "section", "h1", "h2", "h3", "p", "div", "span", "ul", "ol", "li", "strong",
                 "figure", "figcaption", "table", "caption", "thead", "tbody", "tr", "th", "td",
                 "blockquote", "dl", "dt", "dd", "code"} | {e.lower() for e in SVG_ELEMENTS}


def html_tags(document: str) -> _Tags:
    parser = _Tags()
    parser.feed(document)
    parser.close()
    return parser


def check_html(document: str) -> _Tags:
    """Only the report's own elements, no handler, nothing that loads but the data: icon,
    and exactly one stylesheet (whose hash the CSP names: see ``style_hash``)."""
    parsed = html_tags(document)
    for tag, attrs in parsed.tags:
        assert tag in HTML_ELEMENTS, f"unexpected element <{tag}>"
        for attr, value in attrs.items():
            assert not attr.startswith("on"), f"handler {attr} on <{tag}>"
            assert attr not in ("src", "srcdoc", "action", "formaction", "style"), attr
            if attr == "href":
                assert (tag, value) == ("link", "data:,"), f"<{tag} href={value!r}>"
    assert len(parsed.styles) == 1
    return parsed


def style_hash(css: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
