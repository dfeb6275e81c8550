"""Sources: where a snapshot's files come from. Each reads in batches and
knows nothing of rules.

- ``index``: the staged index (the hooks' default) or every tracked file;
- ``revisions``: the blobs the commits ``A..B`` add (pre-push, CI);
- ``disk``: files named on the command line, and the working tree;
- ``tips``: the trees at ref tips (history's repository rules);
- ``history``: every unique blob history holds, streamed once;
- ``blobs``: what the git-backed snapshots share.
"""
