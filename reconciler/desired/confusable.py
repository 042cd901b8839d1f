"""Client ids and names that differ only by confusable characters (issue 18, finding 9).

`74089fb5-е782-…` with a Cyrillic `е` is another client_id than `74089fb5-e782-…`, but no
reviewer can tell them apart in a diff or a plan. `skeleton(text)` maps text to what it looks
like: NFKC (fullwidth and compatibility forms), invisible format characters dropped (zero-width
space, soft hyphen...), then every non-ASCII character that has a single-character ASCII
homoglyph in the Unicode confusables data (UTS #39, as shipped by the maintained
`confusable_homoglyphs` package) replaced by it. Two different strings with one skeleton are
lookalikes. ASCII text is compared as it is: `l`/`1`/`I` or `rn`/`m` are not reported (they
are everyday ids), only lookalikes made with other scripts or invisible characters.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Collection, Mapping


@functools.cache
def _ascii_homoglyphs() -> Mapping[str, str]:
    """Non-ASCII character -> its ASCII lookalike (loaded once, only when needed)."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, homoglyphs in confusables_data.items():
        if char.isascii():
            continue
        for glyph in homoglyphs:
            lookalike = glyph.get("c", "")
            if len(lookalike) == 1 and lookalike.isascii() and lookalike.isprintable():
                table[char] = lookalike
                break
    return table


def skeleton(text: str) -> str:
    """What `text` looks like, as ASCII where a lookalike exists (see the module doc)."""
    if text.isascii():
        return text
    table = _ascii_homoglyphs()
    normal = unicodedata.normalize("NFKC", text)
    shown = "".join(
        table.get(ch, ch) for ch in normal if unicodedata.category(ch) != "Cf" or ch.isascii()
    )
    return unicodedata.normalize("NFKC", shown)


def lookalikes(values: Collection[str]) -> dict[str, str]:
    """Each value that imitates another of `values` -> the one it imitates.

    In a group sharing a skeleton, a value equal to the skeleton (plain ASCII, say) is the
    original and every other value imitates it; with no such value, each imitates the first
    other one in sorted order. Values alone in their group are left out."""
    present = set(values)
    groups: dict[str, set[str]] = {}
    for value in present:
        if value.isascii():
            continue
        shape = skeleton(value)
        if shape == value:
            continue
        group = groups.setdefault(shape, set())
        group.add(value)
        if shape in present:
            group.add(shape)
    found: dict[str, str] = {}
    for shape, group in groups.items():
        if len(group) < 2:
            continue
        for value in sorted(group):
            if value == shape:
                continue
            found[value] = shape if shape in group else min(group - {value})
    return found


def differences(value: str, other: str) -> str:
    """The characters of `value` not in `other`, named: `'е' U+0435 CYRILLIC SMALL LETTER IE`."""
    extra = sorted(set(value) - set(other))
    return ", ".join(
        f"{ch!r} U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}" for ch in extra
    )
