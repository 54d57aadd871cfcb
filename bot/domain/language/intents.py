"""Which of the contract's actions a sentence asks for, by ordered keyword rules.

Order matters and encodes the tie-breaks: "when will my job start" is about the queue, not a
launch; "kill all my queued jobs" is a stop, not a list; "show gpu utilization" is not a list.
"""

from __future__ import annotations

import re

Intent = str  # one of: danger, help, logs, stop, launch, queue, gpus, status, list, none

# Asks the bot must never act on: cluster administration, RBAC, secrets, raw kubectl.
_DANGER = re.compile(
    r"\b(?:cluster[\s-]?admin|rbac|role\s*binding|clusterrole|privilege[sd]?|escalat\w+|root\s+access|"
    r"admin\s+(?:access|rights|role|permissions?)|permissions?|credentials?|passwords?|api\s+keys?|tokens?|"
    r"secrets?|kubeconfig|kubectl|exec\s+into|shell\s+into|ssh|drain|cordon|taint|"
    r"(?:delete|remove|wipe|destroy|drop|nuke|purge)\s+(?:the\s+)?(?:whole\s+|entire\s+|all\s+(?:the\s+)?)?"
    r"(?:namespaces?|cluster|nodes?|pods?|deployments?|database|everything(?!\s+(?:i\b|i've|i'm|of\s+mine|mine|that\s+i\b|we\b|of\s+ours))|pvcs?|volumes?|data)|"
    r"namespaces?|rm\s+-rf|sudo|bitcoin|crypto\s*mining|mine\s+crypto|host\s*(?:network|path|filesystem|pid|ipc)|"
    r"(?:increase|raise|bump|disable|remove|lift|change|set|double)\s+(?:my\s+|our\s+|the\s+)?(?:team'?s?\s+)?"
    r"(?:gpu\s+)?(?:quota|limits?)|(?:bypass|skip|jump|cut)\s+(?:the\s+)?(?:queue|line)|"
    r"preempt\s+(?:everyone|everybody|others|other\s+people|all))\b"
)
_HELP_STRONG = re.compile(
    r"^\s*(?:help|usage|\?|commands?|menu)\s*[.!?]*\s*$|\bwhat\s+(?:can|do)\s+you\s+do\b|\bhow\s+do\s+i\s+use\b|"
    r"\bwhat\s+(?:are\s+)?(?:the\s+|your\s+)?commands\b|\bhow\s+does\s+(?:this|it)\s+(?:bot\s+)?work\b|"
    r"\bwho\s+are\s+you\b|\bwhat\s+(?:can|does)\s+(?:this|the)\s+(?:bot|thing)\s+do\b|\bwhat\s+are\s+you\b|\bshow\s+(?:me\s+)?(?:the\s+)?help\b|\bhelp\s+(?:me\s*)?[.!?]*$"
)
# "how do I launch a job?": a question about the bot, when it names no job and no resources
_HOW_DO_I = re.compile(r"\bhow\s+(?:do|can|should|would)\s+(?:i|we|you)\s+(?:launch|start|submit|run|stop|cancel|kill|"
                       r"see|check|read|get|list|use)\b")
# "what can I ask you", "I'm lost", "show me how to launch a job": asking how to use the bot
_ASKS_HOW = re.compile(
    r"\bwhat\s+(?:else\s+)?(?:you|this\s+bot|the\s+bot|it)\s+(?:can|could)\s+do\b|"
    r"\bwhat\s+(?:can|could|may|should)\s+i\s+(?:ask|say|type|tell|do\s+here)\b|\bwhat\s+am\s+i\s+allowed\s+to\s+(?:ask|do|say)\b|"
    r"\b(?:show|teach|tell)\s+me\s+how\b|\b(?:guide|walk)\s+me\s+through\b|\bi'?m\s+(?:lost|confused|new\s+here)\b|"
    r"\bwhere\s+do\s+i\s+(?:start|begin)\b|\bhow\s+does\s+(?:this|the(?:\s+\w+){1,2}|\w+ing)\s+work\b|"
    r"\b(?:rundown|overview|list|summary|cheat\s*sheet)\s+of\s+(?:the\s+|your\s+|all\s+)?commands\b|"
    r"^\s*help\s+(?:me\s+)?(?:with|on|for|to)?\s*\w+|\b(?:need|want|get|use)\s+(?:some\s+|a\s+little\s+)?help\b|\bhow\s+to\s+use\b|"
    r"\b(?:manual|tutorial|readme|cheat\s*sheet|documentation|docs|examples?)\b|"
    r"\b(?:flags|options|arguments|syntax|parameters)\s+(?:for|of|to)\b"
)
_HELP_WEAK = re.compile(r"\b(?:help|usage|how\s+do\s+i|how\s+to|what\s+commands|documentation|docs)\b")
_LOGS = re.compile(
    r"\b(?:logs?|output|stdout|stderr|traceback|stack\s*trace|tail\s*-?f?|lines|print(?:ed|s|ing)?|"
    r"error\s+messages?|(?:the|an?|any|what'?s\s+the)\s+errors?|errors?\s+(?:from|of|for|in))\b|\bwhy\s+(?:did|does|is|has)\b.*\b(?:crash\w*|fail\w*|die|died|dying|break|broke|"
    r"oom\w*|error\w*|stuck)\b|\bwhat\s+went\s+wrong\b|\b(?:saying|spitting\s+out|outputting)\b"
)
_STOP = re.compile(
    r"\b(?:stop|cancel|kill|terminate|abort|halt|delete|remove|shut\s*down|tear\s+down|end|preempt|"
    r"evict|scrap|dequeue|unqueue|wipe(?:\s+out)?|clear\s+(?:out\s+)?(?:my|our|all|the|every)|get\s+rid\s+of|"
    r"drop\s+(?:my|our|all|the|every)|nuke|purge|flush|shut\s+(?:it|them|that|this|[a-z0-9][\w.-]*)\s+down|"
    r"take\s+(?:it|them|that|this|[a-z0-9][\w.-]*)\s+down|pull\s+the\s+plug|call\s+off|axe|put\s+an\s+end\s+to|"
    r"destroy|scrub|zap|ditch|trash|bin|empty\s+(?:my|our)\s+queue|(?:get|take|pull|yank)\s+.{0,40}?\b(?:out\s+of|off|from)\s+(?:the\s+)?queue)\b"
)
_LAUNCH_STRONG = re.compile(
    r"\b(?:launch|kick\s*(?:off|start)|kickoff|submit|fine[\s-]?tune|finetune|train|pre[\s-]?train|"
    r"spin\s+up|queue\s+up|enqueue|schedule|start\s+(?:a|an|the|my|new|training)\b|fire\s+(?:up|off)|boot\s+up|"
    r"get\s+\S+\s+(?:going|started)\b)"
)
_QUEUE = re.compile(
    r"\bqueue\b|\bwhen\s+(?:will|does|do|is|should|can)\b.*\b(?:start|run|begin|scheduled|get\s+gpus)\b|"
    r"\bhow\s+long\b.*\b(?:wait|until|before|queue)\b|\bposition\b|\bwait(?:ing)?\s+time\b|\beta\b|"
    r"\bwhy\s+is\b.*\b(?:pending|waiting|not\s+(?:starting|running))\b|\bline\s+up\b|\bahead\s+of\s+(?:me|mine|us)\b|"
    r"\bin\s+line\b|\b(?:a\s+)?line\s+for\b|\bahead\s+of\s+(?:my|our)\s+(?:job|run)s?\b|\b(?:spot|place|rank|standing)\s+in\s+(?:the\s+)?(?:queue|line)\b|\bam\s+i\s+next\b|\bmy\s+turn\b|"
    r"\bstand\s+in\s+(?:the\s+)?(?:queue|line)\b"
)
_GPU_WORD = (
    r"(?:gpus?|cards?|accelerators?|capacity|a100s?|h100s?|h200s?|b200s?|l40s|a10gs?|l4s?|t4s?|v100s?)"
)
_GPUS = re.compile(
    rf"\b(?:free|available|idle|unused|spare|open)\b.*\b{_GPU_WORD}\b|\b{_GPU_WORD}\b.*\b(?:free|available|"
    rf"idle|unused|spare|in\s+use|left|busy)\b|\butili[sz](?:ation|ed)\b|\bcapacity\b|\bhow\s+many\s+{_GPU_WORD}|"
    rf"\b(?:gpu|cluster)\s+(?:usage|load|stats|status|availability)\b|\bhow\s+busy\b|\bany\s+{_GPU_WORD}\b|"
    rf"\bwhat\s+(?:kinds?\s+of\s+)?(?:gpus|gpu\s+types|hardware|cards|accelerators)\b|^\s*gpus?\s*[?.!]*\s*$|"
    rf"\bwhich\s+(?:gpus|gpu\s+types|cards)\b|\b(?:list|show)\s+(?:(?:the|all)\s+)?(?:gpus|cards|nodes|cluster)\b|"
    rf"\bcluster\s+(?:is\s+)?(?:full|busy|free)\b|\bis\s+the\s+cluster\s+(?:full|busy|free)\b|^\s*(?:what'?s|what\s+is|anything)\s+free\b|"
    rf"\b{_GPU_WORD}\s+(?:availability|capacity|usage|utili[sz]ation)\b|\b(?:cluster|you)\s+have\b.*\b{_GPU_WORD}\b|"
    rf"\bhow\s+(?:loaded|full|busy|packed|utili[sz]ed|saturated)\b.*\b(?:cluster|{_GPU_WORD})\b|"
    rf"\bhow\s+much\s+of\s+the\s+(?:cluster|{_GPU_WORD})\b|\b(?:tell\s+me\s+about|info\s+(?:on|about)|details\s+(?:on|about))\s+"
    rf"(?:the\s+)?{_GPU_WORD}|\b(?:fraction|percent(?:age)?|share|portion)\s+of\s+(?:the\s+)?(?:cluster|{_GPU_WORD})\b"
)
_STATUS = re.compile(
    r"\b(?:status|state|progress|doing|going(?!\s+to\s+(?!finish|end|complete|start|run|fail|crash|succeed|be\b|make\b|take\b))|looking|how(?:'s|\s+is|\s+are)|hows|check\s+on|updates?\s+on|news\s+(?:on|about|of)|"
    r"where\s+(?:is|are|'s)|became\s+of|been\s+running|how\s+long\s+has|(?:what|which)\s+(?:stage|phase|step)|check|tell\s+me\s+about|info\s+(?:on|about)|details?\s+(?:on|of|about)|happened\s+(?:to|with)|coming\s+along|how\s+far(?:\s+along)?|"
    r"what'?s\s+up\s+with|whats\s+up\s+with|how\s+goes|how\s+much\s+(?:longer|more\s+time|time\s+(?:is\s+)?left)|"
    r"time\s+(?:left|remaining)|left\s+on)\b"
)
# The asker's latest job, not named: "what became of my latest run", "did my last job finish".
_LATEST = re.compile(
    r"\b(?:my\s+)?(?:last|latest|most\s+recent|newest|previous)\s+(?:job|run|training|experiment|launch|one)\b"
)
_ASKS_STATE = re.compile(
    r"^\s*(?:what|how|did|has|is|was|where|any)\b|\?\s*$|\b(?:finish\w*|succeed\w*|fail\w*|crash\w*|done|go|went|"
    r"status|became|happened)\b"
)
# "what do I have queued", "anything of mine pending?": a list of one's own waiting work.
_MINE_WAITING = re.compile(
    r"(?:\bdo\s+i\s+have|\bi\s+have|\bof\s+mine|\bmy\b|\bi've\s+got|\bi\s+got)\b.*"
    r"\b(?:queued|pending|waiting|in\s+(?:the\s+)?queue)\b"
)
_NOT_LIST = re.compile(r"\b(?:when|how\s+long|why|position|eta|ahead|before|where|spot|place|stand|rank|next|turn)\b")
# "what failed on the cluster today": a question about jobs in a state, no job named.
_WHAT_STATE = re.compile(
    r"^\s*(?:what|which|anything|any|who)\b.*\b(?:failed|crashed|died|finished|succeeded|completed|errored|"
    r"broke|exploded|blew\s+up|went\s+down)\b|"
    r"^\s*(?:did\s+|has\s+|have\s+)?(?:anything|any\s+(?:job|run)s?|anyone|something)\b.*\b(?:fail|crash|die|finish|"
    r"succeed|complete|error|break|blow\s+up)\w*"
)
# "did my job finish", "has my run crashed": the asker's one job (their latest), its state
_MY_ONE = re.compile(
    r"\bmy\s+(?:job|run|training|experiment|launch|eval|evaluation|sweep|fine-?tune|finetuning|benchmark|pretraining)\b(?!s)"
)
_ONE_JOB = re.compile(r"\b(?:the|my|that|this|our)\s+(?:[\w-]+\s+)?(?:job|run|training|experiment|sweep|eval)\b(?!s)")
# "what have I got going", "what do I have on": the asker's jobs
_WHAT_I_HAVE = re.compile(r"\bwhat\s+(?:have\s+i|do\s+i\s+have|i've)\s+(?:got\s+)?(?:going|running|on|out\s+there)\b")
# "what has my team been running", "what's everyone been up to": their jobs, listed
_WHAT_THEY_RUN = re.compile(
    r"^\s*what(?:'s|\s+has|\s+have|\s+is|\s+are)\s+(?:my\s+|our\s+|the\s+)?(?:team|teammates|group|colleagues|lab|everyone|"
    r"everybody|people)\b.*\b(?:running|launching|up\s+to|training|doing)\b"
)
_STATUS_Q = re.compile(
    r"\b(?:is\b.*\b(?:still\s+)?(?:running|queued|"
    r"pending|done|finished|alive|up|dead|stuck|ok)|did\b.*\b(?:finish|succeed|complete|fail|crash|start|"
    r"work|pass|make\s+it|go\s+(?:ok|okay|well|through|fine)|get\s+(?:scheduled|started|going|admitted))|"
    r"has\b.*\b(?:finished|started|completed|failed|crashed)|when\s+(?:will|does|is|should)\b.*\b(?:finish|end|complete|"
    r"be\s+done|done|wrap\s+up))\b"
)
_LIST = re.compile(
    r"\b(?:list|jobs|(?:my|our|the|failed|running|queued|pending|finished|recent)\s+(?:\w+\s+)?(?:runs|experiments|workloads)|"
    r"what\s+(?:have|did)\s+i\s+(?:run|launch|submit|start)\w*|recent(?:ly)?\s+(?:jobs|runs)|what(?:'s|\s+is|\s+are)?\b.*\b(?:running|queued|pending)|which\b|what\s+(?:is|are)\b.*\b(?:running|"
    r"queued)|show\s+(?:me\s+)?(?:my|our|all|the|everything)|anything\s+running|"
    r"what(?:'s|\s+is|\s+are)\s+[\w' ]{0,30}?\bup\s+to)\b"
)
_LAUNCH_WEAK = re.compile(
    r"\b(?:start|run|need|want|give\s+me|get\s+me|can\s+i\s+(?:get|have|use)|allocate|reserve|book|create|"
    r"i'd\s+like|use|new\s+job|go)\b"
)


# "gpu usage over the last week": the utilization chart (`/gpu usage 7d`)
_USAGE = re.compile(
    r"\bhow\s+much\s+(?:did|have|has)\s+(?:we|i|the\s+team|my\s+team|our\s+team)\s+(?:use|used)\b|"
    r"\b(?:usage|utili[sz]ation|allocation)\b.*\b(?:last|past|over|this)\s+(?:\d+\s*)?(?:h|hours?|d|days?|day|week)\b"
    r"|\b(?:usage|utili[sz]ation)\s+(?:chart|graph|history|trend)s?\b|\b(?:chart|graph|plot)\s+(?:of\s+)?(?:the\s+)?"
    r"(?:gpu\s+)?(?:usage|utili[sz]ation)\b"
)
# "who is using the H100s": everyone's running jobs
WHO_USES = re.compile(
    r"\bwho(?:'s|\s+is|\s+are)?\s+(?:using|hogging|on|running|eating|occupying|taking\s+up)\b|"
    r"\bwhat(?:'s|\s+is|\s+are)\s+(?:hogging|eating|occupying|taking\s+up|using\s+up|clogging)\b"
)
# "is anything of mine running", "are any of our jobs queued": a list of jobs in that state
_ANY_IN_STATE = re.compile(
    r"^\s*(?:is|are)\s+(?:there\s+)?(?:anything|any(?:\s+of)?\s+(?:my|our|the\s+team'?s?)?\s*(?:jobs?|runs?|work)|something)\b"
    r".*\b(?:running|queued|pending|waiting|active)\b"
)


def is_danger(low: str) -> bool:
    """Cluster administration, secrets, raw kubectl: never acted on, wherever it is written."""
    return bool(_DANGER.search(low))


def also_launch(low: str) -> bool:
    """A launch verb as well (read after a stop matched first)."""
    return bool(_LAUNCH_STRONG.search(low) or re.search(r"\b(?:start|run)\s+(?:a\s+)?new\b", low))


def detect(low: str, has_launch_detail: bool, has_names: bool) -> Intent:
    """The intent of ``low`` (normalised, lower-case text)."""
    if _DANGER.search(low):
        return "danger"
    if _HELP_STRONG.search(low) or (_HOW_DO_I.search(low) and not has_names and not has_launch_detail):
        return "help"
    if _ASKS_HOW.search(low) and not has_names and not has_launch_detail:
        return "help"
    if _ADVICE.search(low) and not _LAUNCH_STRONG.search(low):
        return "none"  # "which is faster, a100 or h100?": a question of knowledge, not an action
    if _LOGS.search(low):
        return "logs"
    if _STOP.search(low):
        return "stop"
    if not has_names and not has_launch_detail and (_WHAT_THEY_RUN.search(low) or _WHAT_I_HAVE.search(low)):
        return "list"  # before the launch verbs: "what has the team been training"
    if _ENQUEUE.search(low) and (has_launch_detail or has_names):
        return "launch"  # "put a 2-node job on the queue, 8 h100 each": a job added to the queue
    if _LAUNCH_STRONG.search(low) and not _QUEUE_ONLY.search(low):
        if (has_names or _MY_ONE.search(low)) and not has_launch_detail and _STATUS_Q.search(low):
            return "status"  # a question about a job, with a launch word in it: "has t5-xl finished training"
        return "launch"
    if not has_names and _LATEST.search(low) and _ASKS_STATE.search(low):
        return "status"
    if not has_names and _MY_ONE.search(low) and _STATUS_Q.search(low) and not _QUEUE.search(low):
        return "status"
    if not has_names and _MINE_WAITING.search(low) and not _NOT_LIST.search(low):
        return "list"
    if not has_names and _WHAT_STATE.search(low):
        return "list"
    if _USAGE.search(low):
        return "usage"
    if WHO_USES.search(low) or (not has_names and (_ANY_IN_STATE.search(low) or _WHAT_THEY_RUN.search(low))):
        return "list"
    if _QUEUE.search(low):
        return "queue"
    if _GPUS.search(low) and (_QUESTION.search(low) or not (_LAUNCH_WEAK.search(low) and has_launch_detail)):
        return "gpus"
    if (_STATUS.search(low) and (has_names or not re.search(r"\bjobs\b", low))) or (
        has_names and _STATUS_Q.search(low)
    ):
        return "status"
    if _LIST.search(low):
        return "list"
    if not has_launch_detail and _STATUS_Q.search(low) and _ONE_JOB.search(low):
        return "status"  # "is the resnet run done": a question about one job, not a launch
    if _LAUNCH_WEAK.search(low):
        return "launch"
    if _HELP_WEAK.search(low):
        return "help"
    if has_launch_detail and not _WH_QUESTION.search(low):
        return "launch"  # "8 h100s for 6 hours" is a launch without a verb; "how fast is an a100" is not
    return "none"


# Questions of knowledge or advice: comparisons, "what should I use", "any tips".
_ADVICE = re.compile(
    r"\b(?:difference\s+between|compare[ds]?|comparison|versus|vs\.?|(?:better|faster|cheaper|slower)\s+than|"
    r"which\s+(?:one\s+)?(?:is|would\s+be)\s+(?:better|faster|cheaper|best|fastest)|"
    r"(?:what|which)\s+[\w\s]{0,30}\bshould\s+(?:i|we)\s+(?:use|pick|choose|set|try)|"
    r"any\s+(?:tips|advice|suggestions?|ideas|recommendations?)|recommend(?:ed|ation)?s?)\b"
)
_ENQUEUE = re.compile(
    r"^\s*(?:please\s+|pls\s+|can\s+you\s+|could\s+you\s+)?(?:put|add|throw|stick|place|drop|pop)\b[^.?!]{0,60}?"
    r"\b(?:on|in|into|to|onto)\s+the\s+queue\b"
)
_WH_QUESTION = re.compile(r"^\s*(?:what|what's|whats|how|why|which|who|where|is|are|does|do|did)\b")
_QUESTION = re.compile(r"^\s*(?:how|are|is|what|which|any|do|does)\b|\?\s*$")
_QUEUE_ONLY = re.compile(r"\bwhen\s+(?:will|does|do|can)\b|\bin\s+the\s+queue\b|\bqueue\s+position\b")
