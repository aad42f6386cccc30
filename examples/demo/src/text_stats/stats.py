"""Word and character statistics."""
import re
import string
from collections import Counter
from typing import Dict, List, Optional


def word_count(text: str) -> int:
    words = text.split()
    return len(words)


def char_frequency(text: str) -> Dict[str, int]:
    counts: Dict[str, int] = Counter()
    for ch in text.lower():
        if not ch.isspace():
            counts[ch] += 1
    return dict(counts)


def longest_word(text: str) -> Optional[str]:
    words: List[str] = text.split()
    if len(words) == 0:
        return None
    best = words[0]
    for w in words[1:]:
        if len(w) > len(best):
            best = w
    return best


def is_palindrome(text: str) -> bool:
    cleaned = "".join(ch.lower() for ch in text if ch.isalnum())
    if not cleaned:
        return False
    return cleaned == cleaned[::-1]


def summarize(text: str) -> Dict[str, object]:
    return {"words": word_count(text), "longest": longest_word(text), "palindrome": is_palindrome(text)}
