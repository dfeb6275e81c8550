"""Guardian keeps a git repository inside its policy.

The package is the shared core: configuration, rules, the engine, git access,
reports and the command line. It imports no web framework, and the modules on
the hook's start-up path import only what they use (see ``cli.py``).
"""

__version__ = "0.1.0"
#: Where the project and its documentation live (SARIF's informationUri and helpUri).
HOMEPAGE = "https://github.com/guardian-policy/guardian"
