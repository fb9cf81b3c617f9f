#!/usr/bin/python3
"""`pip install --no-build-isolation ./producers/python` works as the SDK's
README says: in a venv made with --system-site-packages (Debian's
python3-zmq and python3-msgpack come from the system), on Debian's
python3-setuptools and python3-wheel, with no package index. The installed
package imports from elsewhere, and `python -m sluice.worker` runs.

Exit codes: 0 pass, 1 fail, 77 skipped (no python3-venv / setuptools / wheel)."""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.join(os.path.dirname(os.path.dirname(HERE)), "producers", "python")


def main():
    try:
        import ensurepip  # noqa: F401
        import setuptools  # noqa: F401
        import venv  # noqa: F401
        import wheel  # noqa: F401  (setuptools builds the wheel pip installs with it)
        import msgpack  # noqa: F401
        import zmq  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {e} (apt-get install python3-venv python3-setuptools python3-wheel python3-zmq python3-msgpack)",
              file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="sluice-sdk-install-")
    try:
        # A copy: the build writes build/ and *.egg-info next to the sources.
        src = os.path.join(tmp, "python")
        shutil.copytree(SDK, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        venv_dir = os.path.join(tmp, "venv")
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv_dir], check=True)
        py = os.path.join(venv_dir, "bin", "python")
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        env.pop("PYTHONPATH", None)
        r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", src], env=env, cwd=tmp,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            print(f"FAIL: pip install exited {r.returncode}:\n{r.stdout}\n{r.stderr}", file=sys.stderr)
            return 1
        shutil.rmtree(src)  # what runs now is the installed copy
        r = subprocess.run([py, "-c", "import sluice, sluice.landing, sluice.serving; print(sluice.__file__); "
                                      "w = sluice.Worker(broker='tcp://127.0.0.1:1'); print(type(w).__name__)"],
                           env=env, cwd=tmp, capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or venv_dir not in r.stdout or "Worker" not in r.stdout:
            print(f"FAIL: the installed package: {r.stdout}\n{r.stderr}", file=sys.stderr)
            return 1
        r = subprocess.run([py, "-m", "sluice.worker", "--help"], env=env, cwd=tmp, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0 or "MODULE" not in r.stdout.upper():
            print(f"FAIL: python -m sluice.worker --help: {r.stdout}\n{r.stderr}", file=sys.stderr)
            return 1
        print("1 passed, 0 failed")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
