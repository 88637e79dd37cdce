"""From a status code and a diagnostic text to a ``Kind`` (hard or soft bounce) and a normalised ``Reason``.

The order is the contract: the RFC 3463 enhanced status code first (class 5 hard, class 4 soft, class 2 no
failure), whatever a provider's own label says ("Permanent", "Transient"); without one, the basic SMTP reply
code (RFC 5321: 5yz hard, 4yz soft); without either, well-known diagnostic phrases. The reason comes from the
code's subject and detail where those are specific (``x.1.1`` bad mailbox, ``x.2.2`` mailbox full, …), from
the phrases otherwise; the raw diagnostic is always kept beside it.
"""

import re

from webapp.hygiene.reports import Kind, Reason

# RFC 3463: class.subject.detail; subject and detail up to three digits. Not inside a longer dotted number
# (an IP address or a version) and not followed by another dot-digit.
ENHANCED_CODE = re.compile(r"(?<![\w.:,/=])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
# RFC 5321 reply code at a word boundary, followed by a space, a dash or the end (``550 5.1.1``, ``550-``).
REPLY_CODE = re.compile(r"(?<![\d.#\-:/])([45][0-5]\d)(?=[ \-]|$)", re.MULTILINE)

# A remote server's own reply: a reply code and its enhanced code (``550 5.1.1``, ``550-5.1.1``); in a chain
# of relays the last one is the server that refused.
SERVER_REPLY = re.compile(r"(?<![\d.])[245]\d\d[ \-]#?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")

# Enhanced codes whose subject.detail names the reason by itself (RFC 3463 and the IANA registry).
STATUS_REASONS: dict[str, Reason] = {
    "1.0": Reason.USER_UNKNOWN,  # other address status (of the recipient's address)
    "1.1": Reason.USER_UNKNOWN,  # bad destination mailbox address
    "1.2": Reason.DOMAIN_NOT_FOUND,  # bad destination system address
    "1.3": Reason.USER_UNKNOWN,  # bad destination mailbox address syntax
    "1.6": Reason.USER_UNKNOWN,  # destination mailbox has moved, no forwarding address
    "1.7": Reason.POLICY,  # bad sender's mailbox address syntax
    "1.8": Reason.POLICY,  # bad sender's system address
    "1.10": Reason.DOMAIN_NOT_FOUND,  # RFC 7505 null MX
    "2.1": Reason.USER_UNKNOWN,  # mailbox disabled, not accepting messages
    "2.2": Reason.MAILBOX_FULL,
    "2.3": Reason.TOO_LARGE,  # message length exceeds administrative limit
    "3.4": Reason.TOO_LARGE,  # message too big for system
    "4.4": Reason.DOMAIN_NOT_FOUND,  # unable to route
    "4.7": Reason.EXPIRED,  # delivery time expired
    "7.23": Reason.POLICY,  # SPF validation failed
    "7.25": Reason.POLICY,  # reverse DNS validation failed
    "7.26": Reason.POLICY,  # multiple authentication checks failed
    "7.27": Reason.DOMAIN_NOT_FOUND,  # sender address has null MX
}

# Well-known phrases of real servers, most specific first. Matched case-insensitively on the diagnostic.
PATTERNS: list[tuple[Reason, re.Pattern[str]]] = [
    (
        Reason.MAILBOX_FULL,
        re.compile(
            r"mailbox (is )?full|mailbox exceeded|exceeded the local limit|over ?quota|quota (exceeded|exceed)|"
            r"exceeded (storage|the quota|quota)|"
            r"mailbox (size|storage) limit|insufficient (disk )?space|not enough (storage|space)|mail ?box.{0,20}full|"
            r"disk quota|user is over|mailfolder is full|too many messages|account is full|storage (space )?exceeded|"
            r"exceeds? (his|her|the user'?s?) (mailbox|quota)",
            re.I,
        ),
    ),
    (
        Reason.TOO_LARGE,
        re.compile(
            r"message (is )?too (large|big)|message size exceeds|exceeds? (the )?(maximum|size limit)|"
            r"size limit|message length exceeds|mail size|too large|maximum message size",
            re.I,
        ),
    ),
    (
        Reason.BLOCKED,
        re.compile(
            r"spam|blacklist|black list|blocklist|block list|dnsbl|\brbl\b|spamhaus|spamcop|barracuda|"
            r"blocked|listed (at|in|on)|reputation|poor reputation|junk mail|rejected due to|bulk mail|"
            r"denied by policy.{0,40}(ip|client)|client host .{0,60}rejected|connection refused|"
            r"access denied|not allowed to send|banned|virus|malware|infected|content rejected|"
            r"has been temporarily rate limited|too many (connections|recipients)|rate limit|unsolicited|"
            r"message filtered",
            re.I,
        ),
    ),
    (
        Reason.USER_UNKNOWN,
        re.compile(
            r"user unknown|unknown user|no such (user|mailbox|recipient|address|account)|"
            r"(user|recipient|mailbox|address|account) (does not|doesn'?t|doesn't) exist|"
            r"(recipient|user|mailbox|address|account)( address)? (is )?(unknown|not found|invalid|unavailable|"
            r"disabled|inactive|suspended|deactivated|not valid)|"
            r"invalid (recipient|mailbox|address|user)|unknown (recipient|mailbox|address|local.?part)|"
            r"not (a )?valid (recipient|mailbox|user)|undeliverable address|"
            r"mailbox unavailable|mailbox not found|no mailbox|user not found|not our customer|"
            r"unrouteable address|unroutable address|no account|account (has been )?(disabled|expired|closed|"
            r"suspended)|does not have an account|is not a known user|addressee unknown|recipient not found|"
            r"(dest|destin)ination (address|mailbox) (does not exist|unknown)|bad destination mailbox|"
            r"no valid recipients|unknown or illegal alias|not listed in|doesn'?t have a|"
            r"mailbox (is )?(disabled|inactive|unavailable)|"
            r"this user doesn'?t have|the email account that you tried to reach|is not a valid mailbox|"
            r"resolver\.adr\.recipnotfound|recipnotfound|user doesn'?t exist|no longer (active|available|exists)|"
            r"not exist|non-?existent|unknown address|invalid address|invalid .{0,20}userid|"
            r"(user|account|mailbox)\b.{0,60}\blocked\b|mailbox is frozen|not a registered .{0,20}user",
            re.I,
        ),
    ),
    (
        Reason.DOMAIN_NOT_FOUND,
        re.compile(
            r"host (or domain name )?not found|domain (not found|does not exist|unknown|not exist)|"
            r"unknown (host|domain)|no such domain|name service error|name or service not known|"
            r"no mx|mx record|unrouteable mail domain|domain.{0,30}(is not|isn't) (valid|registered)|"
            r"dns (error|lookup)|nxdomain|host unknown|non-?existent (host|domain)|could not be resolved|"
            r"no route to host|unable to route|domain (has been )?disabled|domain is not reachable|"
            r"indicated no smtp service|null mx",
            re.I,
        ),
    ),
    (
        Reason.EXPIRED,
        re.compile(
            r"retry time(out| not reached)|retry timeout exceeded|too long in (the )?queue|"
            r"delivery time expired|message expired|has been delayed|could not be delivered within|"
            r"giving up|gave up|timed? ?out|timeout|expired|delayed|deferred|temporar(il)?y",
            re.I,
        ),
    ),
    (
        Reason.POLICY,
        re.compile(
            r"policy|not (permitted|authori[sz]ed|allowed)|relay(ing)? (denied|not permitted|access denied)|"
            r"authentication (required|failed)|spf|dkim|dmarc|rejected|refused|prohibited|forbidden|"
            r"sender (address )?(rejected|denied|verify failed)|require[sd]? (auth|tls)|must use tls|"
            r"mismatches client ip|ptr record|reverse dns",
            re.I,
        ),
    ),
]

# Phrases that make a message a permanent failure when it carries no code at all.
PERMANENT_WORDS = re.compile(r"permanent(ly)? (error|fail|failure)|fatal error|hard bounce|given up", re.I)
TRANSIENT_WORDS = re.compile(r"transient|temporar(il)?y|will (be )?retr(y|ied)|still trying|delayed", re.I)

HARD_BY_DEFAULT = {Reason.USER_UNKNOWN, Reason.DOMAIN_NOT_FOUND}


def enhanced_codes(text: str) -> list[str]:
    """Every RFC 3463 enhanced status code in a text, in order (``5.1.1``)."""
    return [".".join(match.groups()) for match in ENHANCED_CODE.finditer(text or "")]


def reply_code(text: str) -> str:
    """The first RFC 5321 reply code (``550``) in a text, or ``""``."""
    match = REPLY_CODE.search(text or "")
    return match.group(1) if match else ""


def best_status(status_field: str, diagnostic: str) -> str:
    """The most telling enhanced code, in the class of the reporting MTA's own Status field.

    In order: the last remote server reply quoted with its enhanced code, the first specific code anywhere.
    The remote server's reply quoted in the diagnostic (``550 5.7.1 IP address blacklisted``) says more than
    the reporting MTA's summary (``Status: 5.0.0`` or a guessed ``5.1.1``), but whether the message failed
    for good is the reporting MTA's decision: its class stays.
    """
    field_codes = enhanced_codes(status_field)
    field = field_codes[0] if field_codes else ""
    replied = [".".join(match.groups()) for match in SERVER_REPLY.finditer(diagnostic or "")]
    specific = [code for code in replied[::-1] + enhanced_codes(diagnostic) if not code.endswith(".0.0")]
    if not specific:
        return field
    candidate = specific[0]
    if field and field[0] in "45" and candidate[0] in "45":
        return field[0] + candidate[1:]
    return field or candidate


def reason_of(status: str, diagnostic: str) -> Reason:
    """The normalised reason: a specific status code's, else the first well-known phrase's, else ``other``."""
    subject_detail = status.partition(".")[2]
    by_status = STATUS_REASONS.get(subject_detail)
    if by_status is not None:
        return by_status
    for reason, pattern in PATTERNS:
        if pattern.search(diagnostic or ""):
            return reason
    subject = subject_detail.partition(".")[0]
    if subject == "7":
        return Reason.POLICY
    if subject == "1":
        return Reason.USER_UNKNOWN
    return Reason.OTHER


def classify(status: str, diagnostic: str, *, permanent_hint: bool | None = None) -> tuple[Kind, Reason, str]:
    """(kind, reason, status) of a failure; ``permanent_hint`` is a report's own word when nothing else says.

    Returns ``Kind.UNKNOWN`` when neither a code, a phrase nor a hint says whether it failed for good.
    """
    status = best_status(status, diagnostic)
    reason = reason_of(status, diagnostic)
    if status.startswith("5"):
        return Kind.HARD_BOUNCE, reason, status
    if status.startswith("4"):
        return Kind.SOFT_BOUNCE, reason, status
    if status.startswith("2"):
        return Kind.NOT_A_BOUNCE, reason, status
    code = reply_code(diagnostic)
    if code:
        return (Kind.HARD_BOUNCE if code[0] == "5" else Kind.SOFT_BOUNCE), reason, status
    if permanent_hint is True or PERMANENT_WORDS.search(diagnostic or ""):
        return Kind.HARD_BOUNCE, reason, status
    if permanent_hint is False or TRANSIENT_WORDS.search(diagnostic or ""):
        return Kind.SOFT_BOUNCE, reason, status
    if reason == Reason.OTHER:
        return Kind.UNKNOWN, reason, status
    kind = Kind.HARD_BOUNCE if reason in HARD_BY_DEFAULT else Kind.SOFT_BOUNCE
    return kind, reason, status
