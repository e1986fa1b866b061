"""The documents: a README for users, and every document the code, tests and notebooks cite is in
the repository (docs/), down to the numbered finding or lettered table a citation names."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CITING = [p for folder in ("hugelab", "tests", "benchmarks", "scripts", "notebooks")
          for p in sorted((REPO / folder).rglob("*"))
          if p.suffix in (".py", ".ipynb", ".sh", ".c", ".md") and p != Path(__file__).resolve()]
OUTSIDE = re.compile(r"kernel-findings|kernel-semantics|trace-format\b|shared/(reference|notes)")


def test_the_readme_is_for_users_and_short():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 10 * 1024
    for command in ("bash scripts/notebooks.sh", "bash scripts/test.sh"):
        assert command in readme


def test_every_link_between_documents_resolves():
    for doc in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).is_file(), f"{doc.name} links to {target}, which is not there"


def test_nothing_cites_a_document_outside_the_repository():
    cited = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in CITING
             for m in OUTSIDE.finditer(p.read_text(encoding="utf-8", errors="replace"))]
    assert cited == []


def test_every_cited_document_section_and_table_exists():
    findings = (DOCS / "findings.md").read_text(encoding="utf-8")
    tables = (DOCS / "measured-tables.md").read_text(encoding="utf-8")
    seen = 0
    for path in CITING:
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in re.findall(r"docs/([\w-]+\.md)", text):
            assert (DOCS / name).is_file(), f"{path.relative_to(REPO)} cites docs/{name}, which is not there"
            seen += 1
        for number in re.findall(r"docs/findings\.md §(\d+)", text):
            assert re.search(rf"^## {number}\. ", findings, re.M), f"{path.relative_to(REPO)}: no finding {number}"
        for letter in re.findall(r"docs/measured-tables\.md,? ([A-Z])\b", text):
            assert f"**{letter}**" in tables, f"{path.relative_to(REPO)}: no measured table {letter}"
    assert seen >= 5  # the citations this test exists for are still there
