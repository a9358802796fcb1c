"""Condition operators: the closed operator table, value parsing, and evaluation."""

from .evaluate import CompiledCondition, compile_condition
from .operators import Family, OperatorSpec, ParsedOperator, Qualifier, parse_operator

__all__ = [
    "CompiledCondition",
    "Family",
    "OperatorSpec",
    "ParsedOperator",
    "Qualifier",
    "compile_condition",
    "parse_operator",
]
