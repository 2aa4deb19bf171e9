"""Did you mean …?  The one way derivcli guesses which name a mistyped one stands for: options, batch keys and
function names alike (a low stage, so that the parser can use it as well as the command line)."""

from __future__ import annotations

from collections.abc import Iterable

VOWELS = frozenset("aeiou")


def nearest(name: str, candidates: Iterable[str], shortest: int = 3) -> str | None:
    """The candidate `name` is most likely a slip of, else None: within one edit (a letter added, dropped,
    changed, or two neighbours swapped; see `distance`) for names of `shortest` to 4 letters, two for 5 or
    more; a shorter name is taken as meant (`--x` is one edit from many things, where `sn(x)` can only be a
    function).  A tie goes to the candidate with the same first letter."""
    allowed = 2 if len(name) >= 5 else 1 if len(name) >= shortest else 0
    scored = sorted((distance(name, candidate), candidate[:1] != name[:1], candidate)
                    for candidate in set(candidates) if candidate != name)
    return scored[0][2] if scored and scored[0][0] <= allowed else None


def distance(a: str, b: str) -> float:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps, where a
    vowel dropped, added or put for another counts half (`sn` is sin before sgn, `chck` check)."""
    def weight(letter: str) -> float:
        return 0.5 if letter.lower() in VOWELS else 1.0

    previous2: list[float] = []
    previous = [0.0]
    for letter in b:
        previous.append(previous[-1] + weight(letter))
    for i in range(1, len(a) + 1):
        current = [previous[0] + weight(a[i - 1])] + [0.0] * len(b)
        for j in range(1, len(b) + 1):
            x, y = a[i - 1], b[j - 1]
            cost = 0.0 if x == y else 0.5 if x.lower() in VOWELS and y.lower() in VOWELS else 1.0
            current[j] = min(previous[j] + weight(x), current[j - 1] + weight(y), previous[j - 1] + cost)
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]
