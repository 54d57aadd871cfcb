"""`/gpu launch` arguments → ``Launch`` and back; the flag-by-flag checks with their fixes."""

from __future__ import annotations

import difflib
import re

from bot.domain import messages as msg
from bot.domain.actions import PRIORITIES, Launch, Priority
from bot.domain.durations import format_duration, parse_duration
from bot.domain.errors import ParseError
from bot.domain.language.slash_args import ArgScan, Opt, check_name, last_opts
from bot.domain.language.slash_args import positive_int as to_int
from bot.domain.language.slash_jobs import after_args, parse_after
from bot.domain.language.values import PRIORITY_WORDS, loose_duration, normalize_gpu_type, suggest_env_name
from bot.domain.names import ENV_NAME, image_problem
from bot.domain.resources import memory_problem


def build_launch(scan: ArgScan) -> Launch:
    if len(scan.positionals) > 1:
        (_, name), extras = scan.positionals[0], scan.positionals[1:]
        first = extras[0][0]
        if scan.command is None and not any(o.start > first for o in scan.opts):
            # The extra words were most likely the command, missing its `--`.
            fix = scan.fix({first: ["--", scan.args[first]]})
        else:
            fix = scan.fix({i: [] for i, _ in extras})
        raise ParseError(msg.parse_extra_launch_words(name, extras[0][1]), fix)
    opts = last_opts(scan, repeatable=("--env",))
    given: set[str] = set()
    fields: dict[str, object] = {}
    if scan.positionals:
        fields["name"] = check_name(scan, *scan.positionals[0])
        given.add("name")
    for opt in scan.opts:
        if opt.flag == "--env":
            continue
        field, value = _field(scan, opt)
        fields[field] = value
        given.add(field)
    env = _env(scan, [o for o in scan.opts if o.flag == "--env"])
    if env:
        fields["env"] = env
        given.add("env")
    if scan.command is not None:
        fields["command"] = tuple(scan.command)
        given.add("command")
    gpus = int(str(fields.get("gpus", 1)))
    nodes = int(str(fields.get("nodes", 1)))
    # Without --gpus a template may still supply the total, so only a given total is checked.
    if gpus % nodes and ("gpus" in given or "template" not in given):
        per = max(1, gpus // nodes)
        if "--gpus" in opts:
            fix = scan.opt_fix(opts["--gpus"], str(per * nodes))
        else:
            nodes_opt = opts["--nodes"]
            fix = scan.fix(
                span=(nodes_opt.start, nodes_opt.end),
                new=[nodes_opt.flag, nodes_opt.value, "--gpus", str(per * nodes)],
            )
        raise ParseError(msg.parse_uneven_gpus(gpus, nodes), fix)
    return Launch(**fields, given=frozenset(given))  # type: ignore[arg-type]


def _field(scan: ArgScan, opt: Opt) -> tuple[str, object]:
    value = opt.value.strip()
    if opt.flag == "--gpus":
        return "gpus", to_int(scan, opt)
    if opt.flag == "--nodes":
        return "nodes", to_int(scan, opt)
    if opt.flag == "--time":
        return "time_limit_s", _duration(scan, opt)
    if opt.flag == "--priority":
        return "priority", _priority(scan, opt)
    if opt.flag == "--gpu-type":
        return "gpu_type", normalize_gpu_type(value)
    if opt.flag == "--cpus":
        return "cpus", to_int(scan, opt)
    if opt.flag == "--after":
        return "after", parse_after(scan, opt)
    if opt.flag == "--cluster":
        return "cluster", value.lower()
    if opt.flag == "--memory":
        if bad := memory_problem(value):
            why, fixed = bad
            raise ParseError(msg.parse_bad_memory(value, why), scan.opt_fix(opt, fixed) if fixed else None)
        return "memory", value
    if opt.flag == "--image":
        problem = image_problem(value)
        if problem:
            repo, colon, tag = value.partition(":") if value.count(":") == 1 else (value, "", "")
            candidate = repo.lower() + colon + tag
            ok = image_problem(candidate) is None and candidate != value
            raise ParseError(problem, scan.opt_fix(opt, candidate) if ok else None)
        return "image", value
    return "template", value  # --template: the policy file knows which exist


def _duration(scan: ArgScan, opt: Opt) -> int:
    value = opt.value.strip()
    try:
        return parse_duration(value)
    except ValueError as e:
        if value.isdigit():
            raise ParseError(msg.parse_no_unit(value), scan.opt_fix(opt, value + "h")) from None
        loose = loose_duration(value)
        fix = scan.opt_fix(opt, _duration_guess(value, loose))
        raise ParseError(msg.parse_bad_duration(value, str(e)), fix) from None


def _duration_guess(value: str, loose: int | None) -> str:
    """A duration the grammar reads, near what was typed: "90x" → "90m", "2 hours" → "2h"."""
    if loose:
        return format_duration(loose)
    m = re.match(r"\s*(\d{1,4})", value)
    if m and int(m.group(1)) > 0:
        n = int(m.group(1))
        return f"{n}m" if n >= 60 else f"{n}h"  # 90 of something is most likely minutes; 6 is hours
    return "6h"


def _priority(scan: ArgScan, opt: Opt) -> Priority:
    raw = opt.value.strip().lower()
    if raw in PRIORITIES:
        return PRIORITY_WORDS[raw]
    close = difflib.get_close_matches(raw, PRIORITIES, 1, 0.5)
    guess: str | None = PRIORITY_WORDS.get(raw) or (close[0] if close else None)
    raise ParseError(
        msg.parse_bad_choice("--priority", opt.value, PRIORITIES), scan.opt_fix(opt, guess) if guess else None
    )


def _env(scan: ArgScan, opts: list[Opt]) -> tuple[tuple[str, str], ...]:
    env: dict[str, str] = {}
    for opt in opts:
        key, eq, val = opt.value.partition("=")
        if not eq or not key:
            name = suggest_env_name(key or opt.value or "NAME")
            raise ParseError(msg.parse_bad_env(opt.value), scan.opt_fix(opt, f"{name}=value"))
        if not ENV_NAME.fullmatch(key):
            raise ParseError(msg.parse_bad_env_name(key), scan.opt_fix(opt, f"{suggest_env_name(key)}={val}"))
        env[key] = val
    return tuple(env.items())


def launch_args(action: Launch) -> list[str]:
    """Flags for ``action``: every field that differs from its default or was given explicitly."""
    g = action.given
    out: list[str] = [action.name] if action.name else []
    if action.template:
        out += ["--template", action.template]
    if action.image:
        out += ["--image", action.image]
    if action.gpus != 1 or "gpus" in g:
        out += ["--gpus", str(action.gpus)]
    if action.gpu_type:
        out += ["--gpu-type", action.gpu_type]
    if action.nodes != 1 or "nodes" in g:
        out += ["--nodes", str(action.nodes)]
    if action.time_limit_s:
        out += ["--time", format_duration(action.time_limit_s)]
    if action.priority != "normal" or "priority" in g:
        out += ["--priority", action.priority]
    if action.memory:
        out += ["--memory", action.memory]
    if action.cpus:
        out += ["--cpus", str(action.cpus)]
    for key, val in action.env:
        out += ["--env", f"{key}={val}"]
    out += after_args(action.after)
    if action.cluster:
        out += ["--cluster", action.cluster]
    if action.command:
        out += ["--", *action.command]
    return out
