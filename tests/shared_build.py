"""The builds the tests share, run in a process of their own while pytest runs other tests.

    python tests/shared_build.py WORK_DIR CHAIN STAGE...

conftest.py starts this as soon as it knows some collected test needs it, so that its Jupyter
kernels run while the pytest workers run tests that need no build. It runs the stages
named (the ones the collected tests read), in this order, writes one JSON file per stage,
WORK_DIR/stages/<stage>.json, and WORK_DIR/stages/_exit-CHAIN.json when it ends (its traceback, if
it fails, goes to stderr) and stops at the first error:

1. "built": a full build of a copy of the project (its figures/ deleted first), with a fake
   `quarto` on PATH that records what the build gives Quarto (WORK_DIR/quarto/record);
2. "failed": a build of another copy whose first chapter ends in a failing cell, after its
   figure (test_build checks the message and that figures/ did not change);
3. "meta": every run of the nbval mutation meta-test (test_nbval_meta.run_meta);
4. "review": `unionstate build --review HEAD` on a copy under git with one number changed
   after the commit, with a fake `quarto` on PATH (tests/test_review.py);
5. "updated": the built project copied again (under git), built again (nothing changed),
   a synthetic poll added with `unionstate add-poll`, `unionstate diff`, and built again;
6. "update-nbval": every nbval notebook run against that updated copy, and charts.ipynb
   against a copy of it with the figure files of before the poll (tests/test_update_nbval.py),
   in the kernel of the meta-test's runs, once "updated" is reported.

conftest.py runs the stages in three such processes at once, each a chain whose stages
depend on each other or share a kernel: built, updated; failed, review; meta, update-nbval
(which waits for "updated").

The tests make their assertions on what these stages report and leave on disk.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import SharedBuild, copy_report, fake_quarto, tree_digest  # noqa: E402

from unionstate.build import BuildError, build  # noqa: E402
from unionstate.cli import main  # noqa: E402
from unionstate.paths import Project  # noqa: E402

POLL = HERE / "fixtures" / "update" / "synthetic-2026.yaml"
WORK = Path(".")  # set from the command line
STARTED = time.perf_counter()


def outcome(o) -> dict:
    return {"written": [str(p) for p in o.written], "skipped": o.skipped, "changes": o.changes,
            "quarto": o.quarto, "redrawn": o.redrawn}


def cli(*args: str) -> dict:
    done = CliRunner().invoke(main, list(args))
    return {"exit_code": done.exit_code, "output": done.output}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   cwd=root, check=True, capture_output=True)


def numbers(proj: Project) -> dict:
    return json.loads((proj.build / "state.json").read_text(encoding="utf-8"))["numbers"]


def say(stage: str, **data) -> None:
    """Report a finished stage: WORK/stages/<stage>.json, written whole (a rename)."""
    folder = WORK / "stages"
    folder.mkdir(exist_ok=True)
    part = folder / f".{stage}.part"
    data["seconds"] = round(time.perf_counter() - STARTED, 1)  # since the builder started
    # CPU seconds since it started, its own and its kernels': what the suite's time goes to.
    data["cpu"] = round(sum(getattr(resource.getrusage(who), f) for f in ("ru_utime", "ru_stime")
                            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)), 1)
    part.write_text(json.dumps({"stage": stage, **data}), encoding="utf-8")
    os.replace(part, folder / f"{stage}.json")


def main_(work: Path, stages: list[str]) -> None:
    os.environ.pop("UNIONSTATE_ROOT", None)
    proj = built(work) if {"built", "updated"} & set(stages) else None
    if "failed" in stages:
        failed(work)
    if "review" in stages:
        reviewed(work)
    if "updated" in stages:
        updated(work, proj)
    if {"meta", "update-nbval"} & set(stages):
        # One kernel for the meta-test's runs and then the update's (Runner.run empties its
        # namespace before each): a kernel's start and imports cost more than most runs.
        from test_nbval_meta import Runner, run_meta

        with Runner() as runner:
            if "meta" in stages:
                (work / "meta").mkdir()
                say("meta", **run_meta(work / "meta", runner))
            if "update-nbval" in stages:
                # What the other builder reported (SharedBuild.stage waits for it, and fails
                # if that builder stopped without it).
                updated_stage = SharedBuild(WORK).stage("updated")
                nbval_after_update(work, Path(updated_stage["root"]), runner)


def built(work: Path) -> Project:
    quiet = {"say": lambda _msg: None}
    path = os.environ.get("PATH", "")
    proj = copy_report(work / "built" / "project")
    shutil.rmtree(proj.figures)
    # Under git from the start, so that the version the report prints (the commit, and whether
    # the tree has changes) is the same for every later build of this copy and of "updated".
    git(proj.root, "init", "-q")
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-q", "-m", "before")
    bin_dir, _ = fake_quarto(work / "quarto")
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{path}"
    first = build(proj, **quiet)
    os.environ["PATH"] = path  # the fake records the first build's call only
    say("built", root=str(proj.root), record=str(work / "quarto"), outcome=outcome(first))
    return proj


def failed(work: Path) -> None:
    quiet = {"say": lambda _msg: None}
    broken = copy_report(work / "failed" / "project")
    chapter = sorted(broken.chapters.glob("*.qmd"))[0]
    chapter.write_text(chapter.read_text(encoding="utf-8")
                       + "\n\n```{python}\nraise ValueError('boom')\n```\n", encoding="utf-8")
    # Bytes no build would write: a figures/ swapped in by mistake could not go unnoticed.
    (broken.figures / "fig-timeline.png").write_bytes(b"not a figure")
    before = tree_digest(broken.figures)
    try:
        build(broken, **quiet)
        error = None
    except BuildError as exc:
        error = str(exc)
    say("failed", root=str(broken.root), chapter=f"chapters/{chapter.name}", error=error,
        figures_before=before)


def updated(work: Path, proj: Project) -> None:
    quiet = {"say": lambda _msg: None}
    root = work / "update" / "project"
    shutil.copytree(proj.root, root)
    copy = Project(root)  # a git checkout already (see `built`): diff compares with its HEAD
    again = build(copy, **quiet)
    before = numbers(copy)
    added = cli("add-poll", str(POLL), "--root", str(root))
    diff = cli("diff", "--root", str(root))
    after_build = build(copy, **quiet)
    say("updated", root=str(root), again=outcome(again), added=added, diff=diff,
        after_build=outcome(after_build), before=before, after=numbers(copy))


def nbval_after_update(work: Path, root: Path, runner) -> None:
    """Every nbval notebook run against the updated copy, and charts.ipynb against a copy of
    it with the figure files of before the poll (this checkout's figures/), each compared
    with its stored outputs by nbval's own comparison (test_nbval_meta.Runner; the meta-test
    shows that it fails the same cells as `pytest --nbval`)."""
    from test_nbval_meta import NOTEBOOKS

    stale = work / "update" / "stale"
    shutil.copytree(root, stale, ignore=shutil.ignore_patterns(".git", "_build", "figures"))
    shutil.copytree(HERE.parent / "figures", stale / "figures")
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    *fresh, control = runner.jobs([*((nb, root) for nb in notebooks),
                                     (NOTEBOOKS / "charts.ipynb", stale)])

    def failures(run) -> dict[str, str]:
        return {str(i): text for i, text in run.failures.items()}

    say("update-nbval", root=str(root),
        failures={nb.name: failures(run) for nb, run in zip(notebooks, fresh, strict=True)},
        stale=failures(control))


def reviewed(work: Path) -> None:
    from test_review import commit_then_change_a_number

    from unionstate import review

    proj = copy_report(work / "review" / "project")
    commit_then_change_a_number(proj.root)
    bin_dir, record = fake_quarto(work / "review" / "quarto")
    figures = tree_digest(proj.figures)
    path = os.environ.get("PATH", "")
    os.environ.pop(review.REVIEW_ENV, None)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{path}"
    try:
        done = cli("build", "--review", "HEAD", "--root", str(proj.root))
    finally:
        os.environ["PATH"] = path
    say("review", root=str(proj.root), record=str(record), figures=figures, **done)


if __name__ == "__main__":
    WORK, chain = Path(sys.argv[1]), sys.argv[2]
    try:
        main_(WORK, sys.argv[3:])
    except BaseException:
        import traceback

        traceback.print_exc()
        say(f"_exit-{chain}", ok=False)
        raise
    say(f"_exit-{chain}", ok=True)
