"""Judging an action: who the asker is, and whether the policy and the cluster allow it.

Pure functions over the policy, the asker's identity and a snapshot of cluster facts.
Every refusal carries the action that would work; it is shown as a `/gpu` command at the edge.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass

from bot.domain import messages as msg
from bot.domain.actions import Action, Launch, Priority, Stop
from bot.domain.errors import ClusterFactError, ForbiddenError, PolicyError, Refusal, ValidationError
from bot.domain.jobs import JobRecord
from bot.domain.names import image_problem, job_name_problem
from bot.domain.policy.clusters import DEFAULT_CLUSTER, candidates, cluster_names
from bot.domain.policy.config import Policy
from bot.domain.resources import format_memory, memory_problem, quantity_value
from bot.domain.scheduling.model import ClusterFacts


@dataclass(frozen=True)
class Identity:
    """Who is asking, from the signed Slack request and the policy file — never from text."""

    user_id: str
    team: str
    namespace: str
    is_admin: bool


def identify(policy: Policy, user_id: str) -> Identity:
    found = policy.team_of(user_id)
    if found is None and (teams := policy.conflicting_teams(user_id)):
        raise PolicyError(msg.in_two_teams(user_id, teams), None)  # user groups put them in two teams
    if found is None and policy.is_admin(user_id):
        return Identity(user_id, "", "", True)  # an admin with no team: may look and stop, not launch
    if found is None:
        raise PolicyError(msg.not_a_member(user_id, sorted(policy.teams)), None)
    team_name, team = found
    return Identity(user_id, team_name, team.namespace, policy.is_admin(user_id))


def normalize_image(image: str) -> str:
    """``python:3.11`` → ``docker.io/library/python:3.11``, so allowlist globs see the registry."""
    first = image.split("/", 1)[0]
    has_host = "/" in image and ("." in first or ":" in first or first == "localhost")
    if has_host:
        return image
    if "/" not in image:
        return f"docker.io/library/{image}"
    return f"docker.io/{image}"


def image_allowed(policy: Policy, image: str) -> bool:
    full = normalize_image(image)
    return any(fnmatch.fnmatchcase(full, pattern) for pattern in policy.images.allowed)


def suggest_image(policy: Policy, image: str) -> str:
    """The same repository and tag under the first allowed registry prefix (for a corrected command)."""
    base = image.rsplit("/", 1)[-1]
    for pattern in policy.images.allowed:
        if pattern.endswith("/*"):
            return pattern[:-1] + base
    for pattern in policy.images.allowed:
        if "*" not in pattern and "?" not in pattern:
            return pattern
    return msg.EXAMPLE_IMAGE


def _with(action: Launch, **changes: object) -> Launch:
    """``action`` changed as a fix changes it: the changed fields count as given, so a template
    applied again does not undo them."""
    given = action.given | frozenset(k for k in changes if k != "given")
    return dataclasses.replace(action, **changes, given=given)  # type: ignore[arg-type]


def apply_template(policy: Policy, action: Launch) -> Launch:
    """Fill the fields the user did not give from the template they named."""
    if action.template is None:
        return action
    tpl = policy.templates.get(action.template)
    if tpl is None:
        raise PolicyError(
            msg.unknown_template(action.template, sorted(policy.templates)),
            _with(action, template=next(iter(sorted(policy.templates)), None)),
        )
    given = action.given
    changes: dict[str, object] = {}
    if "image" not in given and tpl.image is not None:
        changes["image"] = tpl.image
    if "command" not in given and tpl.command is not None:
        changes["command"] = tuple(tpl.command)
    if "gpus" not in given and tpl.gpus is not None:
        changes["gpus"] = tpl.gpus
    if "gpu_type" not in given and tpl.gpu_type is not None:
        changes["gpu_type"] = tpl.gpu_type
    if "nodes" not in given and tpl.nodes is not None:
        changes["nodes"] = tpl.nodes
    if "time_limit_s" not in given and tpl.time_limit is not None:
        changes["time_limit_s"] = tpl.time_limit
    if "priority" not in given and tpl.priority is not None:
        changes["priority"] = tpl.priority
    if "cluster" not in given and tpl.cluster is not None:
        changes["cluster"] = tpl.cluster
    if tpl.env:
        changes["env"] = tuple(sorted({**tpl.env, **dict(action.env)}.items()))
    return dataclasses.replace(action, **changes)  # type: ignore[arg-type]


def check_launch(policy: Policy, ident: Identity, action: Launch, facts: ClusterFacts) -> Launch:
    """The launch as it will run, or a Refusal saying why not and what to type instead.

    Layers: schema (names, image syntax, numbers), policy (allowlist, limits, priority, quota),
    cluster facts (the GPU type exists, GPUs per node fit a node).
    """
    if not ident.namespace:
        raise PolicyError(msg.not_a_member(ident.user_id, sorted(policy.teams)), None)
    a = apply_template(policy, action)
    # --- schema ---
    if a.name is not None and (problem := job_name_problem(a.name)):
        raise ValidationError(problem, _with(a, name=None))
    if a.image is None:
        raise ValidationError(msg.missing_image(), _with(a, image=msg.EXAMPLE_IMAGE))
    if problem := image_problem(a.image):
        raise ValidationError(problem, _with(a, image=msg.EXAMPLE_IMAGE))
    if a.gpus < 1 or a.nodes < 1:
        raise ValidationError(msg.bad_counts(a.gpus, a.nodes), _with(a, gpus=1, nodes=1))
    if a.gpus % a.nodes:
        per = max(1, a.gpus // a.nodes)
        raise ValidationError(
            msg.gpus_not_divisible(a.gpus, a.nodes), _with(a, gpus=per * a.nodes)
        )
    # --- policy ---
    if not image_allowed(policy, a.image):
        raise PolicyError(
            msg.image_not_allowed(a.image, policy.images.allowed),
            _with(a, image=suggest_image(policy, a.image)),
        )
    lim = policy.limits
    if a.gpus > lim.max_gpus_per_job:
        raise PolicyError(
            msg.too_many_gpus(a.gpus, lim.max_gpus_per_job), _fit_gpus(a, lim.max_gpus_per_job)
        )
    if a.nodes > lim.max_nodes_per_job:
        raise PolicyError(
            msg.too_many_nodes(a.nodes, lim.max_nodes_per_job),
            _with(a, nodes=lim.max_nodes_per_job, gpus=a.gpus // a.nodes * lim.max_nodes_per_job),
        )
    time_limit = a.time_limit_s if a.time_limit_s is not None else lim.default_time_limit
    if time_limit > lim.max_time_limit:
        raise PolicyError(
            msg.time_too_long(time_limit, lim.max_time_limit), _with(a, time_limit_s=lim.max_time_limit)
        )
    if a.priority == "high" and ident.user_id not in lim.high_priority and not ident.is_admin:
        raise PolicyError(msg.high_priority_not_allowed(), _with(a, priority="normal"))
    quota = policy.teams[ident.team].gpu_quota
    if a.gpus > quota:
        raise PolicyError(msg.over_team_quota(ident.team, a.gpus, quota), _fit_gpus(a, quota))
    # --- cluster facts ---
    if a.gpu_type is None:
        best = facts.most_free_type(list(policy.gpu_types))
        raise ClusterFactError(
            msg.missing_gpu_type(facts.types_present(list(policy.gpu_types))),
            _with(a, gpu_type=best) if best else None,
        )
    if a.gpu_type not in policy.gpu_types:
        best = facts.most_free_type(list(policy.gpu_types))
        raise ClusterFactError(
            msg.unknown_gpu_type(a.gpu_type, sorted(policy.gpu_types)),
            _with(a, gpu_type=best) if best else None,
        )
    per_node_max = facts.max_gpus_per_node(a.gpu_type)
    if per_node_max == 0:
        best = facts.most_free_type(list(policy.gpu_types))
        raise ClusterFactError(
            msg.gpu_type_absent(a.gpu_type, facts.types_present(list(policy.gpu_types))),
            _with(a, gpu_type=best) if best else None,
        )
    if a.gpus // a.nodes > per_node_max:
        nodes_needed = -(-a.gpus // per_node_max)
        fixed = _with(a, nodes=nodes_needed, gpus=nodes_needed * per_node_max) if a.gpus % per_node_max else (
            _with(a, nodes=nodes_needed)
        )
        fix = fixed if nodes_needed <= lim.max_nodes_per_job else None
        raise ClusterFactError(msg.gpus_per_node_do_not_fit(a.gpus, a.nodes, a.gpu_type, per_node_max), fix)
    if a.nodes > facts.node_count(a.gpu_type):
        raise ClusterFactError(
            msg.not_enough_nodes(a.nodes, a.gpu_type, facts.node_count(a.gpu_type)),
            _with(a, nodes=facts.node_count(a.gpu_type),
                                  gpus=a.gpus // a.nodes * facts.node_count(a.gpu_type)),
        )
    _check_node_size(a, a.gpu_type, facts)
    if a.cluster is not None:
        check_cluster(policy, ident, a)
    return dataclasses.replace(a, time_limit_s=time_limit)


def _check_node_size(a: Launch, gpu_type: str, facts: ClusterFacts) -> None:
    """``--memory``/``--cpus`` are per node: they must fit the largest node of the type."""
    if a.memory and (problem := memory_problem(a.memory)):
        why, fixed = problem
        raise ValidationError(msg.parse_bad_memory(a.memory, why), _with(a, memory=fixed))
    cores, size = facts.largest(gpu_type)
    if a.memory and size and quantity_value(a.memory) > size:
        top = format_memory(size)
        raise ClusterFactError(msg.memory_too_big(a.memory, gpu_type, top), _with(a, memory=top))
    if a.cpus and cores and a.cpus > cores:
        raise ClusterFactError(msg.cpus_too_many(a.cpus, gpu_type, int(cores)),
                               _with(a, cpus=int(cores)))


def _fit_gpus(a: Launch, limit: int) -> Launch:
    """The largest GPU count within ``limit`` that still divides over the nodes."""
    per = max(1, limit // a.nodes)
    return _with(a, gpus=per * a.nodes) if per * a.nodes <= limit else _with(a, gpus=limit, nodes=1)


def may_see(ident: Identity, record: JobRecord) -> bool:
    """One visibility rule for cards: `/gpu status`, `/gpu list --all` and `/gpu queue` show every
    team's jobs to every member (read-only; stopping is ``check_stop``'s, logs ``may_read_logs``')."""
    return ident.is_admin or bool(ident.team) or record.team == ident.team


def may_read_logs(ident: Identity, record: JobRecord) -> bool:
    """Logs can hold a team's data: its members and admins read them."""
    return ident.is_admin or record.team == ident.team


def check_stop(ident: Identity, record: JobRecord) -> None:
    """Owners stop their jobs; admins stop anyone's; others are refused."""
    if record.owner != ident.user_id and not ident.is_admin:
        raise ForbiddenError(msg.not_your_job(record.name, record.owner), Stop(scope="mine"))


def priority_allowed(policy: Policy, ident: Identity, priority: Priority) -> bool:
    return priority != "high" or ident.is_admin or ident.user_id in policy.limits.high_priority


def passing_fix(policy: Policy, ident: Identity, fix: Action | str | None, facts: ClusterFacts) -> Action | str | None:
    """``fix`` if it passes for this person, else the first launch reached from it that does.

    A fix that is not a launch (a read-only command, a grammar correction) is returned as it is;
    None when a launch fix leads nowhere (better no "Try:" than one refused next).
    """
    for _ in range(6):
        if not isinstance(fix, Launch):
            return fix
        try:
            check_launch(policy, ident, fix, facts)
        except Refusal as again:
            fix = again.fix
            continue
        return fix
    return None


def judge_launch(policy: Policy, ident: Identity, action: Launch, facts: ClusterFacts) -> Launch:
    """``check_launch``, with a refusal's fix followed until it is a launch that passes.

    One refusal at a time would send people round in circles (40 GPUs → "use 32" → "over
    quota, use 16"); the fix offered is the first corrected launch that passes every check.
    """
    try:
        return check_launch(policy, ident, action, facts)
    except Refusal as first:
        first.fix = passing_fix(policy, ident, first.fix, facts)
        raise


def check_cluster(policy: Policy, ident: Identity, a: Launch) -> None:
    """``--cluster NAME``: a cluster of the policy that offers the GPU type and serves the team's namespace."""
    assert a.cluster is not None and a.gpu_type is not None
    if not policy.clusters and a.cluster == DEFAULT_CLUSTER:
        return  # the one cluster, by its name
    fits = candidates(policy, a.gpu_type, ident.namespace)
    fix = _with(a, cluster=fits[0]) if fits else _with(a, cluster=None)
    if a.cluster not in policy.clusters:
        raise PolicyError(msg.unknown_cluster(a.cluster, cluster_names(policy)), fix)
    entry = policy.clusters[a.cluster]
    if entry.gpu_types is not None and a.gpu_type not in entry.gpu_types:
        raise PolicyError(msg.cluster_lacks_gpu_type(a.cluster, a.gpu_type, fits), fix)
    if entry.namespaces is not None and ident.namespace not in entry.namespaces:
        raise PolicyError(msg.cluster_lacks_namespace(a.cluster, ident.namespace, fits), fix)
