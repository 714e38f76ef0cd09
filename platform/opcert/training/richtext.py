"""Lesson text: a safe subset of HTML. Tags outside the list are dropped (their text kept, escaped), every
attribute goes except a link's http(s) address, and script/style contents are removed entirely."""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

ALLOWED = frozenset(
    {"p", "br", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "u", "blockquote", "code", "pre", "hr"}
    | {"table", "thead", "tbody", "tr", "th", "td", "a"}
)
VOID = frozenset({"br", "hr"})
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "template", "svg", "math"})


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self.skipping += 1
            return
        if self.skipping or tag not in ALLOWED:
            return
        if tag in VOID:
            self.out.append(f"<{tag}>")
            return
        extra = ""
        if tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            if href.lower().startswith(("https://", "http://")):
                extra = f' href="{escape(href, quote=True)}" rel="noopener noreferrer nofollow"'
        self.out.append(f"<{tag}{extra}>")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID and not self.skipping:
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self.skipping = max(self.skipping - 1, 0)
            return
        if self.skipping or tag not in self.open:
            return
        while self.open:
            last = self.open.pop()
            self.out.append(f"</{last}>")
            if last == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(escape(data, quote=False))


def sanitise_html(source: str) -> str:
    """The lesson text reduced to the allowed tags, balanced, with nothing that runs or styles."""
    cleaner = _Cleaner()
    cleaner.feed(source)
    cleaner.close()
    cleaner.out.extend(f"</{tag}>" for tag in reversed(cleaner.open))
    return "".join(cleaner.out)
