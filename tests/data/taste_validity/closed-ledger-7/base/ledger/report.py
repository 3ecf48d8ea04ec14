"""Text reports of a book."""

from __future__ import annotations

import datetime as dt

from .book import Book


def trial_balance(book: Book) -> str:
    """Every account's balance, and their total (zero when the book balances)."""
    lines = [f"{account:<20} {amount:>12}" for account, amount in sorted(book.balances.items())]
    lines.append(f"{'total':<20} {sum(book.balances.values()):>12}")
    return "\n".join(lines)


def journal(book: Book, start: dt.date, end: dt.date) -> str:
    """The entries from ``start`` to ``end``, both included, one a line."""
    return "\n".join(
        f"{e.day.isoformat()}  {e.debit:<12} {e.credit:<12} {e.amount:>10}  {e.memo}"
        for e in book.entries_between(start, end)
    )
