import pytest

from inkwell.wrap import wrap_words


def test_long_words_get_a_line_of_their_own():
    assert wrap_words("a extraordinarily b", 5)[:2] == ["a", "extraordinarily"]


def test_width_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        wrap_words("a", 0)
