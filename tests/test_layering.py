"""balance_core stays free of Streamlit: the CLI and user code must not pay for it."""

import subprocess
import sys


def test_importing_balance_core_never_imports_streamlit():
    code = (
        "import sys, balance_core, balance_core.cli, balance_core.readers.tables\n"
        "import balance_core.quality, balance_core.stats\n"
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_streamlit_import_in_the_source():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "balance_core"
    offenders = [p.name for p in root.rglob("*.py") if "import streamlit" in p.read_text()]
    assert offenders == []
