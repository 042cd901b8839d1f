"""The hostile and malformed desired-state corpus: each case is one file's bytes and where it goes.

Every case must fail `validate` with exactly the listed `file:line:col: $.path: reason` lines
(tests/corpus/test_corpus.py), in bounded time and memory, and nothing may ever be written.
"""

from __future__ import annotations

from dataclasses import dataclass

CLIENT = "client_id: 11111111-1111-4111-8111-111111111111\nname: corpus\n"


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # where the file goes in a copy of the example desired-state/
    content: bytes

    @property
    def id(self) -> str:
        return self.name


def _client(name: str, body: str) -> Case:
    return Case(name, f"clients/{name}.yaml", body.encode())


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


CASES: tuple[Case, ...] = (
    # Not plain data: anchors, aliases, tags, merge keys.
    _client("alias-bomb", _laughs(12)),
    _client("alias-per-line", "anchor: &x 1\n" + "".join(f"k{i}: *x\n" for i in range(5000))),
    _client("python-tag", CLIENT + "overrides: !!python/object/apply:os.system ['touch pwned']\n"),
    _client("python-name-tag", CLIENT + "name2: !!python/name:os.system\n"),
    _client("local-tag", CLIENT + "overrides: !custom {theme: {}}\n"),
    _client("binary-tag", CLIENT + "overrides:\n  theme:\n    logo: !!binary aGVsbG8=\n"),
    _client("set-tag", CLIENT + "profiles: !!set {foundation: null}\n"),
    _client("merge-key-alias", CLIENT + "base: &b {theme: {}}\noverrides:\n  <<: *b\n"),
    _client("merge-key-inline", CLIENT + "overrides:\n  <<: {theme: {a: 1}}\n"),
    _client("timestamp", CLIENT.replace("name: corpus", "name: 2024-01-01")),
    # Duplicate keys at every depth.
    _client("duplicate-top", CLIENT + "name: again\n"),
    _client(
        "duplicate-deep",
        CLIENT
        + "modules:\n  forms:\n    settings:\n      max_fields: 3\n      layout: two-column\n"
        "      max_fields: 4\n  forms:\n    enabled: false\n"
        "overrides:\n  theme:\n    nested:\n      a: {b: 1, b: 2}\n",
    ),
    _client("duplicate-null-key", CLIENT + "overrides:\n  theme:\n    null: 1\n    ~: 2\n"),
    # Numbers JSON cannot hold, or that would never end.
    _client(
        "huge-int",
        CLIENT + "modules:\n  forms:\n    settings:\n      max_fields: " + "9" * 5000 + "\n",
    ),
    _client("huge-negative-hex", CLIENT + "overrides:\n  theme:\n    x: -0x" + "f" * 300 + "\n"),
    _client("sexagesimal-bomb", CLIENT + "overrides:\n  theme:\n    x: 1" + ":59" * 200_000 + "\n"),
    _client("float-overflow", CLIENT + "overrides:\n  theme:\n    x: 1.0e+400\n"),
    _client("nan", CLIENT + "overrides:\n  theme:\n    x: .NaN\n"),
    # Nesting.
    _client("deep-flow", CLIENT + "overrides:\n  theme: " + "[" * 100_000 + "]" * 100_000 + "\n"),
    _client(
        "deep-block",
        CLIENT
        + "overrides:\n"
        + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(80))
        + "  " * 81
        + "v: 1\n",
    ),
    # Encodings and line ends.
    Case(
        "invalid-utf8",
        "clients/invalid-utf8.yaml",
        CLIENT.encode() + b"overrides:\n  theme:\n    x: caf\xe9\n",
    ),
    Case("utf16-bom", "clients/utf16-bom.yaml", CLIENT.encode("utf-16")),
    Case(
        "utf8-bom-then-error",
        "clients/utf8-bom-then-error.yaml",
        b"\xef\xbb\xbf" + CLIENT.encode() + b"strategy: sideways\n",
    ),
    Case(
        "crlf",
        "clients/crlf.yaml",
        (CLIENT + "modules:\n  forms:\n    settings:\n      max_fields: many\n")
        .replace("\n", "\r\n")
        .encode(),
    ),
    Case(
        "lone-cr",
        "clients/lone-cr.yaml",
        (CLIENT + "strategy: sideways\n").replace("\n", "\r").encode(),
    ),
    _client("tab-indent", CLIENT + "modules:\n\tforms: {}\n"),
    Case(
        "nul-byte",
        "clients/nul-byte.yaml",
        CLIENT.encode() + b"overrides:\n  theme:\n    x: a\x00b\n",
    ),
    Case("control-char", "clients/control-char.yaml", CLIENT.encode() + b"strategy: merge\x07\n"),
    # Empty and odd documents.
    _client("empty", ""),
    _client("whitespace-only", "   \n\n  \n"),
    _client("comment-only", "# nothing here\n"),
    _client("document-marker-only", "---\n"),
    _client("null-document", "~\n"),
    _client("scalar-document", "just a string\n"),
    _client("two-documents", CLIENT + "---\n" + CLIENT),
    _client("complex-key", CLIENT + "? [a, b]\n: 1\n"),
    _client("int-and-bool-keys", CLIENT + "overrides:\n  theme:\n    1: a\n    true: b\n"),
    # Wrong types at every position of a client, unknown keys at every level.
    _client(
        "wrong-types",
        "client_id: 42\nname: [a]\nprofiles: foundation\nstrategy: 3\nmodules:\n"
        "  forms: null\n  support: 7\n  documents:\n    enabled: sometimes\n    version: 1\n"
        "    settings: [1]\n    strategy: {}\n"
        "overrides:\n  theme: []\n  consultation: 1\n  plan_catalog: x\n  catalog: true\n",
    ),
    _client("wrong-top-type", "- client_id: x\n"),
    _client(
        "unknown-keys",
        CLIENT + "colour: blue\nmodules:\n  forms:\n    enable: true\noverrides:\n  themes: {}\n",
    ),
    _client(
        "unknown-module-and-profile", CLIENT + "profiles: [platinum]\nmodules:\n  teleport: {}\n"
    ),
    # Other file kinds.
    Case(
        "module-wrong-types",
        "modules/corpus-module.yaml",
        b"id: 7\nname: [x]\nversion: one\ncapabilities: {}\ndependencies: x\nconflicts: 1\n"
        b"settings_schema:\n  type: object\n  properties: 3\ndefault_settings: []\nprotected: maybe\n"
        b"extra: 1\n",
    ),
    Case(
        "module-nested-properties-list",
        "modules/corpus-nested.yaml",
        b"id: corpus-nested\nname: Nested\nversion: 1.0.0\nsettings_schema:\n  type: object\n"
        b"  properties:\n    smtp:\n      type: object\n      properties: [{a: 1}]\n",
    ),
    Case(  # `(a+)+$` against forty a's and a b would backtrack for hours: refused unrun
        "module-redos-pattern",
        "modules/corpus-redos.yaml",
        b"id: corpus-redos\nname: ReDoS\nversion: 1.0.0\nsettings_schema:\n  type: object\n"
        b"  properties:\n    code: {type: string, pattern: '^(a+)+$'}\n"
        b"  patternProperties:\n    '^(\\w+\\s?)*$': {type: string}\n"
        b"default_settings:\n  code: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n",
    ),
    Case(
        "profile-wrong-types",
        "profiles/corpus-profile.yaml",
        b"name: 5\nmodules: [x]\noverrides: 1\nextra: {}\n",
    ),
)

# The settings file is one per tree: its cases replace reconciler.yaml.
SETTINGS_CASES: tuple[Case, ...] = (
    Case("settings-defaults-string", "reconciler.yaml", b"legacy:\n  defaults: analytics\n"),
    Case(
        "settings-defaults-objects", "reconciler.yaml", b"legacy:\n  defaults: [{a: 1}, [x], 3]\n"
    ),
    Case(
        "settings-wrong-types",
        "reconciler.yaml",
        b"strategy: all\nsafety: []\nlimits:\n  max_file_bytes: big\ndefaults: 1\nextra: 2\n",
    ),
    Case("settings-empty", "reconciler.yaml", b""),
)
