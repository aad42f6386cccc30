from text_stats import word_count


def test_word_count_counts_whitespace_separated_words():
    assert word_count("a b  c") == 3


def test_word_count_of_blank_text_is_zero():
    assert word_count("   ") == 0
