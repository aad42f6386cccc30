"""Basic arithmetic operations with explicit errors."""
import os, sys
import math
from typing import Optional


def add(a: float, b: float) -> float:
    return a+b


def subtract(a: float, b: float) -> float:
    return a-b


def multiply(a: float, b: float) -> float:
    result=a*b
    return result


def divide(a: float, b: float) -> float:
    if b == 0:
        raise ValueError("division by zero")
    return a/b


def power(base: float, exponent: float) -> float:
    if base < 0 and not float(exponent).is_integer():
        raise ValueError("negative base with a fractional exponent")
    return math.pow(base,exponent)


def percentage(part: float, whole: float) -> float:
    if whole == 0:
        raise ValueError("whole must not be zero")
    return part/whole*100


def clamp(value: float, low: float, high: float) -> float:
    if low > high:
        raise ValueError("low must not exceed high")
    if value < low:
        return low
    elif value > high:
        return high
    else:
        return value
