"""Speed of `guardian check` against the tools people use today, in one run.

Corpus: the running interpreter's standard library committed into a temporary
git repository (about 2,400 files, 60 MB; every machine has it).

Measured, median of several runs each:
  1. `guardian check --all-files` (all five rules) vs `ruff check --select TID251`
     banning `optimization_engine` on the same tree. Target: ratio <= 1.0.
  2. `guardian --version` vs `python -c pass`. Target: ratio <= 1.5.
  3. The pre-commit hook's command on 20 staged files
     (`guardian check --staged F1..F20`) vs `python -c pass`. Target: <= 2.0.

With --before TREE (a checkout of an earlier Guardian, e.g. `git worktree add
/tmp/before REV`), each of Guardian's commands also runs from TREE, in turn
with this checkout's, and the before/after ratio is printed: how a refactor is
shown.

Usage: python bench/bench_check.py [--runs N] [--keep DIR] [--before TREE]
Prints the timings and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import tool


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def build_corpus(dest: Path) -> tuple[int, int]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = total = 0
    for src in stdlib.rglob("*"):
        rel = src.relative_to(stdlib)
        if rel.parts[0] in ("site-packages", "dist-packages") or "__pycache__" in rel.parts:
            continue
        if src.is_symlink() or not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        files += 1
        total += target.stat().st_size
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
    os.environ.update(env)
    git("init", "-q", cwd=dest)
    git("add", "-A", "-f", cwd=dest)
    git("commit", "-q", "--no-verify", "-m", "stdlib", cwd=dest)
    (dest / "ruff.toml").write_text(
        '[lint.flake8-tidy-imports.banned-api]\n"optimization_engine".msg = "use atomizer"\n'
    )
    return files, total


def timed(cmd: list[str], cwd: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.exit(f"bench: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return statistics.median(samples)


def report(name: str, ours: float, theirs: float, target: float, their_name: str) -> None:
    ratio = ours / theirs
    verdict = "meets" if ratio <= target else "misses"
    print(
        f"{name}: guardian {ours * 1000:8.1f} ms   {their_name} {theirs * 1000:8.1f} ms   "
        f"ratio {ratio:.2f} (target <= {target}: {verdict})"
    )


def before_and_after(before: Path, corpus: Path, staged: list[str], runs: int) -> None:
    """The same commands from an earlier checkout and from this one, run in turn."""
    python = sys.executable
    here = Path(__file__).resolve().parent.parent
    subprocess.run([python, "-m", "compileall", "-q", str(before / "guardian")], check=True)
    commands = {
        "check --all-files": (["check", "--all-files", "--exit-zero", "--format", "json"], runs),
        "--version": (["--version"], 30),
        "hook, 20 staged": (["check", "--staged", "--files", *staged], 30),
    }
    print(f"\nbefore ({before}) and after (this checkout), `python -m guardian`, run in turn:")
    for name, (argv, n) in commands.items():
        samples: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(n):
            for label, tree in (("before", before), ("after", here)):
                env = {**os.environ, "PYTHONPATH": str(tree)}
                start = time.perf_counter()
                subprocess.run([python, "-m", "guardian", *argv], cwd=corpus, env=env, capture_output=True)
                samples[label].append(time.perf_counter() - start)
        old, new = (statistics.median(samples[k]) for k in ("before", "after"))
        print(f"  {name:<18} before {old * 1000:8.1f} ms   after {new * 1000:8.1f} ms   after/before {new / old:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per command for the tree check (default 5)")
    parser.add_argument("--keep", metavar="DIR", help="build the corpus in DIR and keep it")
    parser.add_argument("--before", metavar="TREE", help="also run an earlier Guardian from TREE; print after/before")
    args = parser.parse_args()

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="guardian-bench-"))
    corpus = base / "stdlib"
    if not (corpus / ".git").exists():
        corpus.mkdir(parents=True, exist_ok=True)
        files, size = build_corpus(corpus)
        print(f"corpus: {files} files, {size / 1e6:.1f} MB from {sysconfig.get_paths()['stdlib']}")
    guardian, ruff, python = tool("guardian"), tool("ruff"), sys.executable
    # A normal install has compiled bytecode; an editable one run with
    # PYTHONDONTWRITEBYTECODE would compile Guardian on every start.
    import guardian as package

    subprocess.run([python, "-m", "compileall", "-q", os.path.dirname(package.__file__)], check=True)

    # 1. Whole tree: all five rules vs ruff's banned-api rule.
    g_cmd = [guardian, "check", "--all-files", "--exit-zero", "--format", "json"]
    r_cmd = [ruff, "check", "--no-cache", "--select", "TID251", "--exit-zero", "--config", "ruff.toml", "."]
    timed(g_cmd, corpus, 1)  # warm the page cache for both
    timed(r_cmd, corpus, 1)
    report("check --all-files", timed(g_cmd, corpus, args.runs), timed(r_cmd, corpus, args.runs), 1.0, "ruff TID251")

    # 2. Start-up. The installer's console-script wrapper imports `re` before
    # Guardian runs; Guardian's own share is the line before.
    report(
        "  (own import)   ",
        timed([python, "-c", "from guardian.cli import main; main(['--version'])"], corpus, 30),
        timed([python, "-c", "pass"], corpus, 30),
        1.5,
        "python -c pass",
    )
    with open(guardian, "rb") as script:
        if b"import re" in script.read(512):
            print("  note: this pip's console-script wrapper imports `re`; pip >= 25.2 writes one that does not")
    report(
        "--version        ",
        timed([guardian, "--version"], corpus, 30),
        timed([python, "-c", "pass"], corpus, 30),
        1.5,
        "python -c pass",
    )

    # 3. The pre-commit hook's command on 20 staged files.
    names = sorted(
        p
        for p in subprocess.run(
            ["git", "ls-files", "*.py"], cwd=corpus, capture_output=True, text=True, check=True
        ).stdout.split()
        if p.count("/") == 0
    )[:20]
    for name in names:
        with open(corpus / name, "a") as fh:
            fh.write("\n# touched by the benchmark\n")
    git("add", *names, cwd=corpus)
    try:
        hook = [guardian, "check", "--staged", "--files", *names]  # as .pre-commit-hooks.yaml runs it
        report(
            "hook, 20 staged  ",
            timed(hook, corpus, 30),
            timed([python, "-c", "pass"], corpus, 30),
            2.0,
            "python -c pass",
        )
    finally:
        if args.before:
            before_and_after(Path(args.before), corpus, names, args.runs)
        git("reset", "-q", "--hard", cwd=corpus)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
