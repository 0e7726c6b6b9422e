"""One real Spark session (local[2], Java 17) shared by every Spark test of a run."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from balance_core.engines.spark import spark_session

    # getOrCreate: test modules that import this fixture share one session.
    session = spark_session(master="local[2]", conf={"spark.sql.shuffle.partitions": "4"})
    yield session
