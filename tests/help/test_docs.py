"""The README and docs/ cannot rot: every link resolves (files and anchors), every path
of the code they name exists, and every setting of server.py is documented."""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest

from server import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
# A path of the project named in the text: layers/..., templates/..., tests/... (not the
# tail of a URL such as /api/layers/<name>, nor a word ending in "layers").
PATH = re.compile(r"(?<![\w/.\-])((?:layers|templates|tests|bench|ops|static/js)/[\w./{},<>*\-]*)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6} (.+)$", line)
        if m:
            s = slug(m.group(1))
            n = counts.get(s, 0)
            counts[s] = n + 1
            found.add(s if n == 0 else f"{s}-{n}")
    return found


def prose(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def expand(pattern: str) -> list[str]:
    """`layers/stores/{embedded,postgis}/users.py` -> both; `<feature>` -> any."""
    m = re.search(r"\{([^{}]*)\}", pattern)
    if m:
        out: list[str] = []
        for choice in m.group(1).split(","):
            out += expand(pattern[:m.start()] + choice + pattern[m.end():])
        return out
    return [re.sub(r"<[^>]*>", "*", pattern)]


def named_paths(text: str) -> set[str]:
    return {m.group(1).rstrip(".,;:") for m in PATH.finditer(text)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_resolve(doc):
    problems = []
    text = FENCE.sub("", prose(doc))
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if not dest.exists():
            problems.append(f"{target}: no file {dest.relative_to(ROOT)}")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not problems, f"{doc.name}: broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_paths_exist(doc):
    missing = []
    for p in sorted(named_paths(prose(doc))):
        if not any(glob.glob(str(ROOT / q)) for q in expand(p)):
            missing.append(p)
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_every_setting_is_in_operating_md():
    text = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    missing = [key for key in DEFAULTS if f"`{key}`" not in text]
    assert not missing, f"docs/operating.md does not document the settings {missing} (DEFAULTS)"


def test_the_checks_can_fail(tmp_path):
    """The checkers themselves find a broken link, a missing anchor and a missing path."""
    doc = tmp_path / "x.md"
    doc.write_text("# Title\n[a](#title) [b](#nope) [c](missing.md) `layers/nothing/here.py`"
                   " `layers/stores/{embedded,postgis}/users.py` /api/layers/<name>\n",
                   encoding="utf-8")
    assert anchors(doc) == {"title"}
    assert slug("`make cluster`: several servers on one machine") == \
        "make-cluster-several-servers-on-one-machine"
    assert slug("一张图: the planners' map (`/`)") == "一张图-the-planners-map-"
    paths = named_paths(doc.read_text(encoding="utf-8"))
    assert paths == {"layers/nothing/here.py", "layers/stores/{embedded,postgis}/users.py"}
    assert not any(glob.glob(str(ROOT / q)) for q in expand("layers/nothing/here.py"))
    both = expand("layers/stores/{embedded,postgis}/users.py")
    assert len(both) == 2 and all(glob.glob(str(ROOT / q)) for q in both)
