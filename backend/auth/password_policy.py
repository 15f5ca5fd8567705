"""Which passwords a parent may choose: at least 10 characters, and not easy to guess.

"Easy to guess" is zxcvbn's estimate, which knows the common-password lists (and words, names,
keyboard runs, repeats and dates): under a million guesses is refused, so `aaaaaaaaaa` and
`password12` are, and a phrase such as `a long password` is not.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

# zxcvbn's score 2 starts at 10^6 guesses.
MIN_GUESSES_SCORE = 2
# zxcvbn refuses longer input; a password that long is judged by its first 72 characters.
ZXCVBN_MAX_LENGTH = 72


def password_problem(password: str) -> str | None:
    """Why `password` is refused, or None when it may be used."""
    if zxcvbn(password[:ZXCVBN_MAX_LENGTH])["score"] < MIN_GUESSES_SCORE:
        return "password: too common or too easy to guess; choose a longer phrase"
    return None
