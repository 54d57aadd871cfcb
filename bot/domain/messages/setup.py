"""User-facing text: setting the bot up (`chatops run`'s start-up checks, `chatops doctor`)."""

from __future__ import annotations

# --- the environment -----------------------------------------------------------------------------
# (variable, what it is for, the default when unset). `chatops run --help` and the README list these.

ENVIRONMENT = (
    ("SLACK_BOT_TOKEN", "the bot's token (xoxb-…): Slack app → OAuth & Permissions → Bot User OAuth Token",
     "required"),
    ("SLACK_APP_TOKEN", "an app-level token (xapp-…, scope connections:write); when set, Socket Mode",
     "unset: HTTP mode"),
    ("SLACK_SIGNING_SECRET", "verifies Slack's requests in HTTP mode: Basic Information → Signing Secret",
     "required in HTTP mode"),
    ("SLACK_API_URL", "the Slack Web API base URL", "https://slack.com/api/"),
    ("REDIS_URL", "the queue, job records, fair share and the dispatcher lease (redis://host:6379/0, AOF on)",
     "required, unless --embedded-store"),
    ("KUBECONFIG", "the cluster the bot launches on", "in a pod: its service account"),
    ("CHATOPS_CONFIG", "the policy file: teams, quotas, images, GPU types (`chatops check-config FILE`)",
     "required"),
    ("PROMETHEUS_URL", "Prometheus with the DCGM exporter's series: `/gpu usage`, GPU utilisation, idle nudges",
     "unset: those views say Prometheus is not configured"),
    ("ALERTMANAGER_URL", "Alertmanager's API, for the alert cards' Silence button", "unset: no Silence button"),
    ("ALERT_WEBHOOK_TOKEN", "the bearer token Alertmanager sends to POST /alerts/alertmanager",
     "unset: alert webhooks are refused (401)"),
    ("CHATOPS_LLM", "a LangChain chat model for sentences (openai:gpt-4o-mini, ollama:llama3.1)",
     "unset: the rule-based parser alone"),
    ("CHATOPS_LLM_BASE_URL", "an OpenAI-compatible server (vLLM, NIM) for CHATOPS_LLM", "the provider's"),
)


def environment_help() -> str:
    width = max(len(name) for name, _, _ in ENVIRONMENT)
    rows = [f"  {name:<{width}}  {what} [default: {default}]" for name, what, default in ENVIRONMENT]
    return "environment:\n" + "\n".join(rows)


def purpose_of(name: str) -> str:
    return next(what for env, what, _ in ENVIRONMENT if env == name)


# --- `chatops run`: what stops it from starting --------------------------------------------------


def setting_missing(name: str, when: str = "") -> str:
    return f"{name} is not set{when}: {purpose_of(name)}"


def setting_invalid(name: str, why: str) -> str:
    return f"{name} {why}: {purpose_of(name)}"


def signing_secret_or_app_token() -> str:
    return ("SLACK_SIGNING_SECRET is not set (HTTP mode): set it to verify Slack's requests, or set "
            "SLACK_APP_TOKEN (xapp-…) for Socket Mode")


def redis_or_embedded() -> str:
    return (f"REDIS_URL is not set: {purpose_of('REDIS_URL')}. With two or more replicas each would keep its "
            "own queue; for a single process that may lose its queue on restart, pass --embedded-store")


def no_cluster_credentials() -> str:
    return ("KUBECONFIG is not set and this is not a pod (no KUBERNETES_SERVICE_HOST): point KUBECONFIG at "
            "the cluster's kubeconfig")


def file_missing(name: str, path: str) -> str:
    return f"{name}={path}: no such file"


def policy_problems(path: str, problems: list[str]) -> list[str]:
    return [f"CHATOPS_CONFIG={path}: {p}" for p in problems] + [f"  (check it with `chatops check-config {path}`)"]


def cannot_start(problems: list[str]) -> str:
    lines = "\n".join(f"  - {p}" if not p.startswith("  ") else p for p in problems)
    return (f"chatops run: cannot start, {len([p for p in problems if not p.startswith('  ')])} setting(s) "
            f"to fix:\n{lines}\n(`chatops run --help` lists the environment and its defaults)")


def token_refused(error: str) -> str:
    hints = {
        "invalid_auth": "it is not a valid token for this Slack API",
        "not_authed": "no token was sent",
        "token_revoked": "the token was revoked; reinstall the app and copy the new one",
        "account_inactive": "the app or its workspace is deactivated",
    }
    return (f"SLACK_BOT_TOKEN was refused by Slack ({error}): {hints.get(error, 'see the error code')}. "
            "Copy the Bot User OAuth Token (xoxb-…) from the Slack app's OAuth & Permissions page")


def slack_unreachable(url: str, why: str) -> str:
    return f"the Slack Web API at {url} did not answer ({why}); check SLACK_API_URL and the network"


def token_ok(user: str, team: str) -> str:
    return f"signed in to Slack as @{user} in {team}"


# --- `chatops doctor` ----------------------------------------------------------------------------


def doctor_heading(what: str) -> str:
    return f"chatops doctor: {what}"


def doctor_line(ok: bool | None, name: str, detail: str) -> str:
    mark = {True: "ok  ", False: "FAIL", None: "warn"}[ok]
    return f"  {mark} {name}: {detail}"


def doctor_summary(failures: int, warnings: int) -> str:
    if failures:
        return f"{failures} check(s) failed, {warnings} warning(s): fix the FAIL lines, then run `chatops doctor` again"
    return f"all checks passed ({warnings} warning(s))"


def doctor_redis_ok() -> str:
    return "answers PING"


def doctor_redis_down(why: str) -> str:
    return f"does not answer ({why}); check REDIS_URL and that Redis runs"


def doctor_redis_embedded() -> str:
    return "REDIS_URL is not set: the bot would refuse to start (it needs a shared Redis)"


def doctor_namespace_ok(namespace: str) -> str:
    return f"the bot can create Jobs in `{namespace}` (a dry run was accepted)"


def doctor_namespace_refused(namespace: str, team: str, why: str) -> str:
    return (f"a dry-run Job in `{namespace}` (team {team}) was refused: {why}. Create the namespace "
            f"(`kubectl create namespace {namespace}`) and bind the bot there (deploy/base/rbac.yaml)")


def doctor_rbac_ok(count: int) -> str:
    return f"all {count} permissions the bot uses are granted"


def doctor_rbac_missing(missing: list[str]) -> str:
    return (f"{len(missing)} permission(s) missing: {', '.join(missing)}. Apply deploy/base/rbac.yaml with a "
            "RoleBinding per team namespace")


def doctor_rbac_unknown(why: str) -> str:
    return f"cannot ask the API server ({why})"


def doctor_nodes_ok(summary: str) -> str:
    return summary


def doctor_no_gpu_nodes(label: str) -> str:
    return (f"no node offers nvidia.com/gpu: install the NVIDIA device plugin (GPU Operator), which also "
            f"sets the `{label}` label")


def doctor_unlabelled(nodes: list[str], label: str) -> str:
    return f"GPU node(s) without the `{label}` label: {', '.join(nodes)}; run GPU feature discovery or label them"


def doctor_unknown_products(products: list[str]) -> str:
    return (f"GPU product(s) not in the policy's gpu_types, so no one can ask for them: {', '.join(products)}; "
            "add them to gpu_types (short name: label value)")


def doctor_cluster_unreachable(why: str) -> str:
    return f"the Kubernetes API did not answer ({why}); check KUBECONFIG"


def scheduler_mode_help(mode: str) -> str:
    """What ``chatops check-config`` says about ``scheduler:``."""
    if mode == "kueue":
        return ("scheduler: kueue — Kueue admits jobs: the bot creates them suspended with the labels "
                "kueue.x-k8s.io/queue-name (the team's LocalQueue gpu-chatops), kueue.x-k8s.io/priority-class "
                "(low, normal, high) and kueue.x-k8s.io/max-exec-time-seconds, and follows their Workloads. "
                "Apply the queues first: chatops kueue-config FILE | kubectl apply -f -")
    return ("scheduler: builtin — the bot's own queue admits jobs (priority, fair share, quotas, backfill). "
            "On a cluster with Kueue set `scheduler: kueue` and apply `chatops kueue-config FILE`.")
