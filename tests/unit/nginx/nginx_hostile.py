"""Hostile strings: nginx syntax, variables, controls, Unicode look-alikes and over-long values.

Each is appended to (or used instead of) an otherwise valid value; none may pass any validator.
"""

HOSTILE_SUFFIXES = (
    '"',
    "'",
    ";",
    "{",
    "}",
    "$host",
    "${host}",
    "\n",
    "\r",
    "\t",
    " ",
    "\x00",
    "\x7f",
    "#",
    "\\",
    "`",
    "|",
    ";\ninclude /etc/passwd;",
    "\u037e",  # GREEK QUESTION MARK, looks like ';'
    "\uff1b",  # FULLWIDTH SEMICOLON
    "\uff5b",  # FULLWIDTH LEFT CURLY BRACKET
    "\u0430",  # CYRILLIC SMALL LETTER A, looks like 'a'
    "\u200b",  # ZERO WIDTH SPACE
    "\u2028",  # LINE SEPARATOR
)

HOSTILE_WHOLE = ("", "a" * 300, "$remote_addr", "'; }", "#x")
# Special to nginx in names (server_name "_" and "*", regex "~"), though valid HTTP tokens.
NGINX_SPECIAL = ("*", "_", "-", "~.*")


def hostile_variants(valid: str, tokens: bool = False) -> list[str]:
    """`valid` with each hostile suffix appended and inserted, plus hostile whole values.

    `tokens`: the field is an HTTP token (header, cookie, key), where `*`, `_`, `-` are legal.
    """
    middle = len(valid) // 2
    variants = [valid + s for s in HOSTILE_SUFFIXES]
    variants += [valid[:middle] + s + valid[middle:] for s in HOSTILE_SUFFIXES]
    return variants + list(HOSTILE_WHOLE) + ([] if tokens else list(NGINX_SPECIAL))
