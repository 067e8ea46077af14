"""The computed front matter: authors from CITATION.cff, version from git, dates, citation."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest

from unionstate import frontmatter
from unionstate.paths import Project

DAY = date(2031, 5, 4)


def make(tmp_path, authors_yaml: str = "  - name: Example Maintainers\n") -> Project:
    (tmp_path / "data").mkdir()
    (tmp_path / "CITATION.cff").write_text(
        "cff-version: 1.2.0\nmessage: cite\ntitle: T\nauthors:\n" + authors_yaml)
    (tmp_path / "report.qmd").write_text('---\ntitle: "A Title: With Colon"\n---\n\nBody\n')
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nlicense = { text = "MIT" }\n')
    (tmp_path / "data" / "CHANGELOG.md").write_text(
        "# Changes\n\nSome text dated 2099-01-01 in prose is not a change line.\n\n"
        "- 2026-11-23: re-ordered.\n- 2027-02-03: added poll x.\n"
        "- 2026-12-01: an entry out of order; the latest date counts, not the last line.\n")
    (tmp_path / "data" / "polls.csv").write_text(
        "poll_id,fieldwork_end\na,2019-08\nb,2021-03\nc,2020\n")
    (tmp_path / "data" / "results.csv").write_text("result_id\nr1\nr2\nr3\n")
    return Project(tmp_path)


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def test_values_without_git(tmp_path):
    proj = make(tmp_path)
    meta = frontmatter.computed(proj, DAY)
    assert meta["author"] == [{"name": "Example Maintainers"}]
    assert meta["date"] == "2031-05-04"
    assert meta["data-date"] == "2027-02-03"
    assert meta["data-latest-poll"] == "March 2021"
    assert meta["version"] == "unknown (not a git checkout)"
    assert meta["citation-text"].startswith("Example Maintainers. 2031. *A Title: With Colon*.")
    assert "data as of 2027-02-03" in meta["citation-text"]
    assert "`polls.csv` (3 polls)" in meta["data-availability"]
    assert "`results.csv` (3 reported figures)" in meta["data-availability"]
    assert "MIT licence" in meta["data-availability"]


def test_where_the_figures_come_from_is_computed_from_the_data(tmp_path):
    """Figures read in a work that reports polls published elsewhere (results.source is not
    the poll's source) and figures read in the pollster's own publication, counted from
    data/, with names from references.bib escaped as Markdown text."""
    proj = make(tmp_path)
    (tmp_path / "references.bib").write_text(
        "@misc{rep, author = {Reporter, Ann}, title = {T}}\n"
        "@misc{own, author = {{Poll *Star* Centre}}, title = {T}}\n")
    polls = [{"poll_id": "a", "source": "pa"}, {"poll_id": "b", "source": "own"}]
    results = [{"poll_id": "a", "source": "rep"}, {"poll_id": "a", "source": "rep"},
               {"poll_id": "b", "source": "own"}]
    assert frontmatter.provenance(proj, polls, results[:2]) == (
        "All 2 poll figures are taken as Reporter reports them, not from the pollsters' own "
        "publications.")
    assert frontmatter.provenance(proj, polls, results) == (
        "Of the 3 poll figures, 2 are taken as Reporter reports them, not from the "
        "pollsters' own publications, and 1 from the pollster's own publication "
        "(Poll \\*Star\\* Centre).")
    assert frontmatter.provenance(proj, polls, results[2:]) == (
        "The one poll figure is taken from the pollster's own publication "
        "(Poll \\*Star\\* Centre).")


@needs_git
def test_version_is_the_commit_and_says_when_the_tree_is_dirty(tmp_path):
    proj = make(tmp_path)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path,
                          capture_output=True, text=True, check=True).stdout.strip()
    assert frontmatter.version(proj) == head
    (tmp_path / "figures").mkdir()  # what a build writes, untracked: the version stays
    (tmp_path / "figures" / "new.csv").write_text("x\n")
    assert frontmatter.version(proj) == head
    (tmp_path / "data" / "results.csv").write_text("result_id\nr1\n")
    assert frontmatter.version(proj) == f"{head} with uncommitted changes"


def test_people_and_entities(tmp_path):
    proj = make(tmp_path, "  - family-names: Doe\n    given-names: Jane\n"
                          "  - name: Some Institute\n  - family-names: Roe\n")
    assert frontmatter.authors(proj) == ["Jane Doe", "Some Institute", "Roe"]
    meta = frontmatter.computed(proj, DAY)
    assert meta["citation-text"].startswith("Jane Doe, Some Institute and Roe. 2031.")


@pytest.mark.parametrize("authors_yaml, message", [
    ("  []\n", "no authors listed"),
    ("  - orcid: x\n", "authors[0] has neither"),
])
def test_bad_citation_file_is_named(tmp_path, authors_yaml, message):
    proj = make(tmp_path, authors_yaml)
    with pytest.raises(frontmatter.FrontMatterError, match="CITATION.cff") as err:
        frontmatter.authors(proj)
    assert message in str(err.value)


def test_statement_is_markdown_with_every_part(tmp_path):
    text = frontmatter.statement(make(tmp_path), DAY)
    for part in ("**Authors:** Example Maintainers", "**Version:**", "**Built:** 2031-05-04",
                 "**Data as of:** 2027-02-03", "**Suggested citation:**",
                 "**Data availability:**"):
        assert part in text


def test_the_project_itself(repo_project):
    """The real CITATION.cff names the authors, and the project's name is not one of them;
    report.qmd types no author of its own, and the titles agree."""
    import yaml

    names = frontmatter.authors(repo_project)
    assert names and all(n.lower() not in ("unionstate", "unionstate project") for n in names)
    header = (repo_project.root / "report.qmd").read_text(encoding="utf-8").split("---")[1]
    assert "author" not in yaml.safe_load(header)
    cff = yaml.safe_load((repo_project.root / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["title"] == frontmatter.title(repo_project)
