"""Run every benchmark script in this folder and print their figures."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
failed = 0
for script in sorted(HERE.glob("*.py")):
    if script.name.startswith("_") or script.name == "run_all.py":
        continue
    print(f"\n== {script.name}", flush=True)
    failed += subprocess.run([sys.executable, script.name], cwd=HERE).returncode != 0
sys.exit(1 if failed else 0)
