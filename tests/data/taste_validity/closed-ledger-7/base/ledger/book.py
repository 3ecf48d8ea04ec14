"""A double-entry book of accounts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Entry:
    day: dt.date
    debit: str
    credit: str
    amount: Decimal
    memo: str = ""


@dataclass
class Book:
    """The entries in the order they were posted, and the balance of each account."""

    entries: list[Entry] = field(default_factory=list)
    balances: dict[str, Decimal] = field(default_factory=dict)

    def post(self, day: dt.date, debit: str, credit: str, amount: Decimal, memo: str = "") -> Entry:
        if amount <= 0:
            raise ValueError(f"amount must be positive, got {amount}")
        if debit == credit:
            raise ValueError(f"an entry needs two accounts, got {debit!r} twice")
        entry = Entry(day, debit, credit, amount, memo)
        self.entries.append(entry)
        self.balances[debit] = self.balances.get(debit, Decimal(0)) + amount
        self.balances[credit] = self.balances.get(credit, Decimal(0)) - amount
        return entry

    def balance(self, account: str) -> Decimal:
        return self.balances.get(account, Decimal(0))

    def entries_between(self, start: dt.date, end: dt.date) -> list[Entry]:
        return [e for e in self.entries if start <= e.day <= end]
