"""Guardian's GitHub App: webhooks in, check runs, statuses and one PR comment out.

``serve`` (``python -m guardian_app.serve``: uvicorn with the server's limits) ->
``main`` (``create_app``: wiring only) -> ``webhook`` (verify, decide with
``events``, record, acknowledge) and ``worker`` (claim, run, retry) ->
``job`` (one job end to end) -> ``checks`` (check runs, statuses),
``comments`` (the sticky comment), ``shared_head`` (pull requests sharing a
head), ``reconcile`` (start-up) -> ``evaluate`` / ``snapshot`` (what the
policy core needs, fetched from the GitHub API) -> ``pool`` (the core run
in worker processes, under a deadline); ``report`` renders what reviewers
see, ``pulls`` finds the pull request, ``store`` keeps jobs and state
(``store.sqlite`` by default), ``github`` is the REST client and ``names``
says which names, ids and numbers from outside may go into a request path.
Imports point down that list; nothing in ``guardian`` imports this package.
"""
