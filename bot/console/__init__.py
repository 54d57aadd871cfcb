"""``chatops console`` and ``chatops demo``: the terminal as a Slack client of the real bot."""
