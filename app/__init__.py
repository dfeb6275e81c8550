"""Guardian's GitHub App: webhooks in, check runs, statuses and one PR comment out.

``serve`` (``python -m app.serve``: uvicorn with the server's limits) ->
``main`` (routes, ``create_app``) -> ``events`` (which deliveries mean work)
-> ``queue`` (durable jobs) -> ``worker`` (one job end to end) ->
``evaluate`` / ``snapshot`` (what the policy core needs, fetched from the
GitHub API) -> ``pool`` (the core run in worker processes, under a
deadline) -> ``report`` (what reviewers see). ``github`` is the REST client;
``names`` says which names, ids and numbers from outside may go into a
request path. Nothing in ``guardian`` imports this package.
"""
