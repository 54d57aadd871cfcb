"""``chatops``: run the bot, the simulated cluster, the console; parse text; check a policy file."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from bot import logs
from bot.domain.actions import to_dict
from bot.domain.errors import BackendError, ConfigError, ParseError
from bot.domain.language.parsing import parse
from bot.domain.language.slash import command_for
from bot.domain.messages.setup import environment_help, scheduler_mode_help
from bot.domain.policy.config import Policy, load_policy
from bot.settings import Settings

if TYPE_CHECKING:  # the console is imported when used: `chatops parse` stays quick
    from bot.console.session import Console


def _parse(args: argparse.Namespace) -> int:
    text = " ".join(args.text)
    try:
        action = parse(text).action
    except ParseError as err:
        fix = command_for(err.fix)
        print(json.dumps({"error": err.why, "fix": fix}) if args.json else f"error: {err.why}\nfix: {fix}")
        return 2
    out = to_dict(action)
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))
    return 0


def _load_or_report(path: str) -> Policy | None:
    try:
        return load_policy(path)
    except ConfigError as err:
        print(f"{path}: {len(err.problems)} problem(s)", file=sys.stderr)
        for problem in err.problems:
            print(f"  - {problem}", file=sys.stderr)
        return None


def _check_config(args: argparse.Namespace) -> int:
    policy = _load_or_report(args.file)
    if policy is None:
        return 1
    print(f"{args.file}: ok ({len(policy.teams)} teams, {len(policy.gpu_types)} GPU types, "
          f"{len(policy.templates)} templates)")
    kinds = {name: t.job_kind for name, t in policy.templates.items() if t.job_kind and t.job_kind != policy.job_kind}
    if policy.job_kind != "job" or kinds:
        from bot.domain.messages import job_kinds_explained

        print(job_kinds_explained(policy.job_kind, kinds, policy.jobset.max_restarts, policy.trainer.runtime))
    if groups := policy.groups_named():
        from bot.domain.messages import groups_resolved_at_run_time

        print(groups_resolved_at_run_time(groups), file=sys.stderr)
    print(scheduler_mode_help(policy.scheduler.mode))
    return _check_clusters(args.file, policy)


def _check_clusters(path: str, policy: Policy) -> int:
    """The contexts that ``clusters:`` names, against KUBECONFIG (when it can be read)."""
    if not policy.clusters:
        return 0
    from bot.adapters.kube.clusters import kube_contexts
    from bot.domain.messages import clusters_summary, contexts_not_checked
    from bot.domain.policy.clusters import context_problems

    contexts = kube_contexts(os.environ.get("KUBECONFIG"))
    if contexts is None:
        print(contexts_not_checked(), file=sys.stderr)
    elif problems := context_problems(policy.clusters, contexts):
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(clusters_summary(list(policy.clusters), policy.scheduler.mode))
    return 0


def _kueue_config(args: argparse.Namespace) -> int:
    import yaml

    from bot.domain.cluster.kueue import kueue_objects

    policy = _load_or_report(args.file)
    if policy is None:
        return 1
    sys.stdout.write(yaml.safe_dump_all(kueue_objects(policy), sort_keys=False, explicit_start=True))
    return 0


def _run(args: argparse.Namespace) -> int:
    from bot import serve

    return serve.run(args)


def _doctor(args: argparse.Namespace) -> int:
    from bot import doctor

    return doctor.run(args)


def _audit(args: argparse.Namespace) -> int:
    from bot import audit_export

    return audit_export.run(args)


def _sim(args: argparse.Namespace) -> int:
    from bot.sim import cli as sim_cli

    return sim_cli.run(args)


# --- console and demo ----------------------------------------------------------------------------


def _console_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default=None, help="the Slack user ID you chat as (default: the policy's first "
                        "team member, URES0001 in the example)")
    parser.add_argument("--channel", default=None, help="the channel you type in (a D… ID for a DM; default: "
                        "that member's team channel)")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="policy file (console: default CHATOPS_CONFIG; demo: default the bundled example policy)")
    parser.add_argument("--verbose", action="store_true", help="show the bot's INFO logs on stderr")


def _policy(args: argparse.Namespace, path: str | None) -> Policy | None:
    from bot.console import demo

    try:
        return load_policy(path) if path else demo.example_policy()
    except ConfigError as err:
        print("\n".join([f"chatops {args.command}: the policy {path} does not load:",
                         *(f"  - {p}" for p in err.problems)]), file=sys.stderr)
        return None


def _console_session(args: argparse.Namespace, policy: Policy) -> Console | None:
    from bot.console.demo import default_seat
    from bot.console.session import CHANNEL_ID, USER_ID, Console

    user, channel = default_seat(policy)
    user, channel = args.user or user, args.channel or channel
    if not USER_ID.fullmatch(user) or not CHANNEL_ID.fullmatch(channel):
        print(f"chatops {args.command}: --user takes a Slack user ID (URES0001), --channel a channel ID "
              "(CRESEARCH1)", file=sys.stderr)
        return None
    if not args.verbose:  # the bot's INFO lines would bury the conversation
        logging.getLogger().setLevel(logging.WARNING)

    session = Console(sys.stdin, sys.stdout, user=user, channel=channel)

    def interrupt(signum: int, frame: FrameType | None) -> None:
        session.request_stop()  # Ctrl-C, SIGTERM and a closed terminal (SIGHUP) end the console cleanly, exit 0

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    return session


def _console(args: argparse.Namespace) -> int:
    from bot.console import demo
    from bot.domain.messages import console_no_cluster

    settings = Settings.from_env()
    if (policy := _policy(args, args.config or settings.chatops_config)) is None:
        return 2
    if (session := _console_session(args, policy)) is None:
        return 2
    try:
        return demo.run_console(session, policy, settings)
    except BackendError as err:
        print(console_no_cluster(str(err)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.console import demo
    from bot.domain.messages import demo_no_gpu_types

    if (policy := _policy(args, args.config)) is None:
        return 2
    if not policy.gpu_types:
        print(demo_no_gpu_types(), file=sys.stderr)
        return 2
    if (session := _console_session(args, policy)) is None:
        return 2
    try:
        return demo.run_demo(session, Settings.from_env(), speed=args.speed, policy=policy)
    except KeyboardInterrupt:  # Ctrl-C while starting or stopping: everything is closed by then
        return 0


# --- end console and demo ------------------------------------------------------------------------


def _not_yet(args: argparse.Namespace) -> int:
    print(f"chatops {args.command}: not yet — it comes with the simulated-cluster and console issue.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatops", description="gpu-chatops: the GPU cluster's Slack bot")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot (Socket Mode when SLACK_APP_TOKEN is set)",
                         description="Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode. "
                         "Every setting is checked first, then the bot token (auth.test).",
                         epilog=environment_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--http", action="store_true", help="serve HTTP mode (POST /slack/events) even when "
                     "SLACK_APP_TOKEN is set")
    run.add_argument("--port", type=int, default=8080, help="the HTTP port: /slack/events, /healthz, /readyz, "
                     "/metrics, /alerts/alertmanager (default 8080)")
    run.add_argument("--embedded-store", action="store_true", help="without REDIS_URL, keep the queue in "
                     "this process (one replica only; lost when it stops)")
    run.set_defaults(func=_run)
    parse = sub.add_parser("parse", help="print the action TEXT becomes")
    parse.add_argument("text", nargs="+")
    parse.add_argument("--json", action="store_true")
    parse.set_defaults(func=_parse)
    check = sub.add_parser("check-config", help="validate a policy file")
    check.add_argument("file")
    check.set_defaults(func=_check_config)
    kueue = sub.add_parser("kueue-config", help="print the Kueue objects that realise a policy (multi-document "
                           "YAML for kubectl apply -f -)")
    kueue.add_argument("file")
    kueue.set_defaults(func=_kueue_config)
    doctor = sub.add_parser("doctor", help="check a live setup: Slack token, Redis, namespaces, RBAC, GPU nodes",
                            description="Check the setup `chatops run` would use (same environment); exit 0 "
                            "when it can run, 1 when something is missing (each FAIL line says what).",
                            epilog=environment_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    doctor.add_argument("--config", default=None, metavar="FILE", help="policy file (default: CHATOPS_CONFIG)")
    doctor.set_defaults(func=_doctor)
    audit = sub.add_parser("audit", help="the audit trail: `chatops audit export --since 30d > audit.jsonl`")
    from bot import audit_export

    audit_export.add_arguments(audit)
    audit.set_defaults(func=_audit)
    sim = sub.add_parser("sim", help="a simulated GPU cluster speaking the Kubernetes API")
    try:
        from bot.sim import cli as sim_cli

        sim_cli.add_arguments(sim)
        sim.set_defaults(func=_sim)
    except ImportError:
        sim.set_defaults(func=_not_yet)
    console = sub.add_parser("console", help="chat with the bot in the terminal, as a Slack user would")
    _console_arguments(console)
    console.set_defaults(func=_console)
    demo = sub.add_parser("demo", help="simulated cluster + embedded store + the bot + the console")
    _console_arguments(demo)
    demo.add_argument("--speed", type=float, default=2.0, help="simulated seconds per real second (default 2: "
                      "a job of 5 simulated minutes runs 2.5 real ones)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The bot and the sim are services: JSON lines for the log pipeline; people read the rest.
    logs.configure(logging.INFO, as_json=args.command in ("run", "sim"))
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
