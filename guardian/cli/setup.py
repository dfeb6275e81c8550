"""``guardian init``, ``rules``, ``explain`` and ``install``: setting a
repository up, and the rules' own documentation."""

from __future__ import annotations

import os
import sys

from guardian.cli import EXIT_CLEAN
from guardian.errors import GuardianError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], only: str | None) -> None:
    if only in (None, "init"):
        init = sub.add_parser("init", help="write a starter .guardian.toml")
        init.add_argument("--force", action="store_true", help="overwrite an existing .guardian.toml")
        init.set_defaults(func=cmd_init)

    if only in (None, "rules"):
        rules = sub.add_parser("rules", help="list the rules")
        rules.add_argument("--config", metavar="FILE", help="show which rules this policy enables")
        rules.set_defaults(func=cmd_rules)

    if only in (None, "explain"):
        explain = sub.add_parser("explain", help="print a rule's documentation")
        explain.add_argument("rule", help="rule id, e.g. max-file-size")
        explain.set_defaults(func=cmd_explain)

    if only in (None, "install"):
        install = sub.add_parser("install", help="install the plain git hooks in this repository")
        install.add_argument("--hook", choices=("pre-commit", "pre-push", "all"), default="all")
        install.add_argument("--force", action="store_true", help="replace a hook that Guardian did not write")
        install.set_defaults(func=cmd_install)

    if only in (None, "uninstall"):
        uninstall = sub.add_parser("uninstall", help="remove the plain git hooks Guardian installed")
        uninstall.add_argument("--hook", choices=("pre-commit", "pre-push", "all"), default="all")
        uninstall.set_defaults(func=cmd_uninstall)


STARTER_CONFIG = """\
# Guardian policy for this repository. Reference: `guardian rules`,
# `guardian explain RULE`, and the README's "Configuration" section.

# Start from the shipped policy (the optimization_engine -> atomizer audit).
extend = "default"

# Paths no rule looks at (gitignore syntax).
exclude = []

[rules.max-file-size]
limit = "1 MiB"
exclude = ["dashboard/assets/**"]

# [rules.forbidden-import.banned]
# optimization_engine = "atomizer"

# [rules.dir-budget.budgets]
# "tools/" = "50 MiB"

# [rules.windows-path]
# severity = "warning"
"""


def cmd_init(args: argparse.Namespace) -> int:
    from guardian.fixer import write_atomic

    path = ".guardian.toml"
    if os.path.exists(path) and not args.force:
        raise GuardianError(f"{path} already exists; edit it, or pass --force to replace it")
    write_atomic(path, STARTER_CONFIG.encode())
    sys.stdout.write(f"Wrote {path}. Check the repository with `guardian check`.\n")
    return EXIT_CLEAN


def cmd_rules(args: argparse.Namespace) -> int:
    from guardian.config import load_policy
    from guardian.rules import REGISTRY, rule_class

    policy = load_policy(args.config, start=os.getcwd())
    enabled = {r.id: r for r in policy.rules}
    width = max(len(rule_id) for rule_id in REGISTRY)
    for rule_id in REGISTRY:
        rule = enabled.get(rule_id)
        state = rule.severity if rule else "off"
        sys.stdout.write(f"{rule_id:<{width}}  {state:<7}  {rule_class(rule_id).summary}\n")
    sys.stdout.write(f"\nPolicy: {policy.source}. Details: guardian explain RULE\n")
    return EXIT_CLEAN


def cmd_explain(args: argparse.Namespace) -> int:
    from guardian.rules import REGISTRY, rule_class

    if args.rule not in REGISTRY:
        raise GuardianError(f"unknown rule {args.rule!r}; `guardian rules` lists them: {', '.join(REGISTRY)}")
    cls = rule_class(args.rule)
    sys.stdout.write(f"# {cls.id}\n\n{cls.summary}\n\n{cls.docs.rstrip()}\n")
    return EXIT_CLEAN


def cmd_install(args: argparse.Namespace) -> int:
    from guardian.install import install_hooks

    for line in install_hooks(os.getcwd(), args.hook, force=args.force):
        sys.stdout.write(line + "\n")
    return EXIT_CLEAN


def cmd_uninstall(args: argparse.Namespace) -> int:
    from guardian.install import uninstall_hooks

    for line in uninstall_hooks(os.getcwd(), args.hook):
        sys.stdout.write(line + "\n")
    return EXIT_CLEAN
