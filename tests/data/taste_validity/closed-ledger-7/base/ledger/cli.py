"""``ledger post DAY DEBIT CREDIT AMOUNT`` and ``ledger balance``, on a JSON file of entries."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from .book import Book
from .report import trial_balance


def load(path: Path) -> Book:
    book = Book()
    if path.exists():
        for row in json.loads(path.read_text(encoding="utf-8")):
            day = dt.date.fromisoformat(row["day"])
            book.post(day, row["debit"], row["credit"], Decimal(row["amount"]), row.get("memo", ""))
    return book


def save(book: Book, path: Path) -> None:
    rows = [
        {"day": e.day.isoformat(), "debit": e.debit, "credit": e.credit, "amount": str(e.amount), "memo": e.memo}
        for e in book.entries
    ]
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ledger")
    parser.add_argument("--file", type=Path, default=Path("ledger.json"))
    commands = parser.add_subparsers(dest="command", required=True)
    post = commands.add_parser("post")
    post.add_argument("day", type=dt.date.fromisoformat)
    post.add_argument("debit")
    post.add_argument("credit")
    post.add_argument("amount", type=Decimal)
    post.add_argument("--memo", default="")
    commands.add_parser("balance")
    args = parser.parse_args(argv)
    book = load(args.file)
    if args.command == "post":
        book.post(args.day, args.debit, args.credit, args.amount, args.memo)
        save(book, args.file)
    else:
        print(trial_balance(book))
    return 0
