"""Engines that touch rows: the pandas/pyarrow path (balance_core.apply) is the
default; :mod:`balance_core.engines.spark` runs the same plans on Apache Spark."""

__all__: list[str] = []
