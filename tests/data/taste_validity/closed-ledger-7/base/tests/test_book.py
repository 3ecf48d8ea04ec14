import datetime as dt
from decimal import Decimal

import pytest

from ledger.book import Book
from ledger.report import trial_balance

DAY = dt.date(2025, 3, 1)


def test_an_entry_moves_the_amount_between_two_accounts():
    book = Book()
    book.post(DAY, "cash", "sales", Decimal("12.50"))
    assert book.balance("cash") == Decimal("12.50")
    assert book.balance("sales") == Decimal("-12.50")


def test_the_trial_balance_totals_zero():
    book = Book()
    book.post(DAY, "cash", "sales", Decimal("3"))
    book.post(DAY, "rent", "cash", Decimal("1"))
    assert trial_balance(book).splitlines()[-1].split() == ["total", "0"]


@pytest.mark.parametrize("amount", [Decimal(0), Decimal(-1)])
def test_an_amount_must_be_positive(amount):
    with pytest.raises(ValueError, match="positive"):
        Book().post(DAY, "cash", "sales", amount)
