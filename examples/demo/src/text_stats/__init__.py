"""Statistics for short texts."""
from text_stats.stats import word_count, char_frequency, longest_word, is_palindrome, summarize

__all__ = ["word_count", "char_frequency", "longest_word", "is_palindrome", "summarize"]
