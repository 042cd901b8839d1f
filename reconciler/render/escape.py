"""The one escaping helper every writer uses for text that comes from data (issue 18, finding 5).

Client ids, names, file names, reasons, actors and setting values are the user's (or an
attacker's) text. Printed raw, an ESC or OSC sequence retitles or clears the terminal, a
newline forges a line (`RUN 99 ...`), and in a markdown PR comment `</summary></details>` or
`![t](https://evil.example/p.png)` breaks out of the structure or embeds a remote image.

- `term(text)`: for terminals and plain text: every control character (C0, DEL, C1) and every
  bidirectional override is shown as a visible escape (`\\x1b`, `\\n`, `\\u202e`), so the text
  stays on its line and cannot drive the terminal.
- `md(text)`: for markdown inline text (table cells, headings, list items): `term`, then `&`
  and `<` as entities (no tag, autolink or entity can start without them) and the markdown
  punctuation of links, images, emphasis, code and cells (`\\ ` * _ [ ] ! | ~`) backslash-escaped.
- `md_code(text)`: a markdown code span that holds the text literally (a fence longer than any
  run of backticks in it; `|` escaped for tables).
- `html(text)`: inside a raw HTML block (`<details><summary>`), where markdown is not parsed:
  HTML entities, and the same markdown punctuation as numeric entities.
"""

from __future__ import annotations

import html as _html
import re

# C0 controls, DEL, C1 controls, and the Unicode bidirectional embeddings/overrides/isolates.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MARKDOWN = re.compile(r"([\\`*_\[\]!|~])")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def has_control(text: str) -> bool:
    """Whether `text` holds a character `term` would escape (refuse it where it is input)."""
    return CONTROL.search(text) is not None


def term(text: object) -> str:
    """`text` safe on a terminal: control characters shown as visible escapes."""
    value = str(text)
    return CONTROL.sub(_visible, value) if CONTROL.search(value) else value


def md(text: object) -> str:
    """`text` as inert markdown inline text: no tag, link, image, emphasis or cell break."""
    value = term(text).replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN.sub(r"\\\1", value)


def md_code(text: object) -> str:
    """`text` as a markdown code span, shown literally (HTML in it is displayed, not parsed)."""
    value = term(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    fence = "`" * (longest + 1)
    if value.startswith("`") or value.endswith("`"):
        value = f" {value} "
    return f"{fence}{value}{fence}"


def html(text: object) -> str:
    """`text` inside raw HTML (a `<summary>`): entities for HTML and for markdown punctuation
    (a renderer that does parse markdown there finds no link or image), controls escaped."""
    return _MARKDOWN.sub(_entity, _html.escape(term(text), quote=True))


def _entity(match: re.Match[str]) -> str:
    return f"&#{ord(match.group())};"
