"""Seesaw on Apache Spark: the same counts and the same chosen rows as the pandas engine."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import DatasetError

__all__ = ["spark_session"]


def _require_spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise DatasetError(
            "The Spark engine needs pyspark: pip install -r requirements-spark.txt.",
            kind="missing_dependency",
        ) from None


def spark_session(*, master: str = "local[*]", conf: Mapping[str, str] | None = None):
    """A Spark session (``getOrCreate``) with Seesaw's settings and ``conf`` applied."""
    _require_spark()
    import shutil

    if shutil.which("java") is None and not __import__("os").environ.get("JAVA_HOME"):
        raise DatasetError(
            "The Spark engine needs Java 17 or newer: apt-get install openjdk-17-jre-headless.",
            kind="missing_dependency",
        )
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("seesaw")
    settings = {"spark.ui.enabled": "false", "spark.sql.session.timeZone": "UTC"}
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # the JVM did not start (no Java, bad --conf)
        raise DatasetError(
            f"Spark did not start ({str(error).splitlines()[0][:200]}); check Java 17 and the "
            "--master/--conf options.",
            kind="missing_dependency",
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session
