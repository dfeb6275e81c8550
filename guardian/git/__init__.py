"""git plumbing, asked in batches: never a process per file.

- ``process``: the one way git is started (``run`` for short answers,
  ``popen`` for streams), and how paths are decoded;
- ``queries``: the work tree's root, revisions, the index and trees listed;
- ``objects``: sizes and bytes of many objects through one process each,
  loose objects read without git, trees of many commits;
- ``records``: the one reader of raw diff records (``log --raw``,
  ``diff-index --raw``).
"""
