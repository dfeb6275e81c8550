"""Guardian's GitHub App: webhooks in, check runs, statuses and one PR comment out.

``main`` (routes, ``create_app``) -> ``events`` (which deliveries mean work)
-> ``queue`` (durable jobs) -> ``worker`` (one job end to end) ->
``evaluate`` / ``snapshot`` (the policy core over the GitHub API) ->
``report`` (what reviewers see). ``github`` is the REST client. Nothing in
``guardian`` imports this package.
"""
