"""Entry script for spark-submit.

spark-submit [options] scripts/spark_main.py COMMAND ... --engine spark
"""

from balance_core.cli import main_exit

main_exit()
