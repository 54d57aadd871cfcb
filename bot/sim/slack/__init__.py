"""Slack, emulated: the Web API the bot calls (``web_api``) and the signed requests Slack sends it
(``requests``), shared by the console and the tests."""
