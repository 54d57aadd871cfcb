"""``chatops sim``: serve a simulated GPU cluster until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from bot.domain.errors import ConfigError
from bot.domain.names import DNS1123_LABEL
from bot.domain.policy.config import load_policy
from bot.sim.apiserver import SimServer
from bot.sim.cluster import SimCluster, node_specs, parse_gpu_type_arg
from bot.sim.namespaces import SYSTEM


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one and prints it")
    parser.add_argument("--nodes", type=int, default=4, help="nodes per plain --gpu-type (default 4)")
    parser.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per node (default 8)")
    parser.add_argument("--gpu-type", action="append", default=None, metavar="TYPE",
                        help="h100, or COUNTxGPUS:TYPE such as 4x8:h100; repeat for a mixed cluster")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--kubeconfig-out", default=None, metavar="FILE", help="write a kubeconfig here")
    parser.add_argument("--namespace", action="append", default=[], metavar="NS",
                        help="create this namespace at start (besides default and kube-system); repeatable")
    parser.add_argument("--jobset", action="store_true",
                        help="serve JobSet (jobset.x-k8s.io/v1alpha2) and run its controller")
    parser.add_argument("--trainer", action="store_true",
                        help="serve Kubeflow Trainer v2 TrainJobs (with JobSet) and the torch-distributed runtime")
    parser.add_argument("--kueue", action="store_true",
                        help="serve Kueue's v1beta2 APIs (and visibility) and run its admission controller")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="a policy file: create the namespace of each of its teams at start")


def _namespaces(args: argparse.Namespace) -> list[str]:
    """``--namespace`` values, then the policy's team namespaces; raises ValueError for a bad name."""
    names: list[str] = []
    for name in args.namespace:
        if not DNS1123_LABEL.fullmatch(name) or len(name) > 63:
            raise ValueError(f"--namespace {name!r}: a namespace name is lower-case letters, digits and '-'")
        names.append(name)
    if args.config:
        try:
            policy = load_policy(args.config)
        except ConfigError as e:
            raise ValueError("\n".join([f"--config {args.config}:", *e.problems])) from e
        names += [team.namespace for team in policy.teams.values()]
    return list(dict.fromkeys(names))


def run(args: argparse.Namespace) -> int:
    groups = []
    try:
        for text in args.gpu_type or ["h100"]:
            groups += parse_gpu_type_arg(text, args.nodes, args.gpus_per_node)
        extra = _namespaces(args)
        extensions = [e for e in ("jobset", "trainer") if getattr(args, e, False)]
        cluster = SimCluster(node_specs(groups), speed=args.speed, namespaces=extra, extensions=extensions,
                             kueue=args.kueue)
    except ValueError as e:
        print(f"chatops sim: {e}")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with SimServer(cluster, host=args.host, port=args.port) as srv:
            if args.kubeconfig_out:
                srv.write_kubeconfig(args.kubeconfig_out)
                print(f"kubeconfig written to {args.kubeconfig_out}")
            summary = ", ".join(f"{n}x{g} {p}" for n, g, p in groups) + (", Kueue" if args.kueue else "")
            print(f"simulated cluster ({summary}, speed {args.speed:g}x) listening on {srv.url}", flush=True)
            print(f"namespaces: {', '.join([*SYSTEM, *extra])}", flush=True)
            if extensions:
                print(f"APIs: {', '.join(sorted(g for g in cluster.groups if g))}", flush=True)
            stop.wait()
            print("stopping", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
