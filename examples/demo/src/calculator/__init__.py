"""Arithmetic for the billing service."""
from calculator.operations import add, subtract, multiply, divide, power, percentage, clamp

__all__ = ["add", "subtract", "multiply", "divide", "power", "percentage", "clamp"]
