"""Where freed seats go, in the words of the question asked before a release or a cancel.

Seats freed while parties wait are not simply back on sale: the fold offers them
at once, in list order, to every waiting party that fits what is free (SPEC §4.5),
and only seats nobody waiting fits go back on sale. That holds for a plain hold
and a sale as much as for an offer. A question that said "back on sale" while
the list was full of people would have the operator promise a walk-up customer
seats that a waiter is about to be offered.
"""

from __future__ import annotations


def seats_go(subject: str, count: int, waiting: int) -> str:
    """``subject`` (``The seat``, ``2 seats``) and where they go, as one clause, no full stop.

    ``waiting`` is how many parties the occurrence's waiting list held when last read.
    """
    one = count == 1
    if waiting <= 0:
        return f"{subject} {'goes' if one else 'go'} back on sale at once"
    whom = "the first waiting party it fits" if one else "the first waiting parties they fit"
    return f"{subject} {'goes' if one else 'go'} to {whom} ({waiting} waiting), else back on sale"


def the_seats(count: int) -> str:
    """``The seat`` or ``The 4 seats``: the subject for a whole party."""
    return "The seat" if count == 1 else f"The {count} seats"
