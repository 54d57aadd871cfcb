"""A refusal's "Try:" made true for the person it is shown to.

The grammar corrects what was typed without knowing who typed it: `--priority urgent` becomes
`--priority high`, which the policy may refuse next. Before such a fix is shown, it is read once
(its text is a command line) and, when it is a launch, followed through the policy and the cluster
facts to the first launch that passes. Policy refusals already carry actions: they pass as they are.
"""

from __future__ import annotations

from bot.domain.actions import Action, Launch
from bot.domain.errors import ParseError
from bot.domain.language.parsing import parse
from bot.domain.policy.config import Policy
from bot.domain.policy.judge import Identity, passing_fix
from bot.domain.scheduling.model import ClusterFacts


def settle(policy: Policy, ident: Identity, fix: Action | str | None, facts: ClusterFacts) -> Action | str | None:
    """``fix`` when it passes for ``ident`` (kept as typed), else one that does, else None."""
    if not isinstance(fix, str):
        return passing_fix(policy, ident, fix, facts)
    try:
        action = parse(fix).action
    except ParseError:
        return fix  # a grammar hint that is not a whole command (e.g. "/gpu help"): shown as it is
    if not isinstance(action, Launch):
        return fix
    settled = passing_fix(policy, ident, action, facts)
    return fix if settled == action else settled
