"""Follow-ups: trigger → activation condition → delay → execution condition → actions, run exactly once.

``definitions`` validates and manages them; ``triggers`` turns journalled events (and date fields) into
durable runs inside the writer's transaction; ``timing`` is the engine's clock and delay arithmetic;
``conditions`` evaluates conditions on a profile; ``runs`` dispatches and performs due runs; ``actions`` holds
what a run does; ``run_history`` lists what they did. See ``docs/follow-ups.md``.

May import ``webapp.platform``, ``webapp.profiles`` and ``webapp.email`` (the send-email action).
"""
