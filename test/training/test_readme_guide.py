"""The README's "Bring your own model" guide runs as written: its Python block exports a bundle that inspect accepts."""

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _guide_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    section = readme.split("### Bring your own model\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_guide_has_a_python_block():
    assert len(_guide_blocks()) == 1


def test_the_readme_guide_exports_a_bundle_that_inspect_accepts(tmp_path):
    script = tmp_path / "guide.py"
    script.write_text("\n".join(_guide_blocks()), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "training"), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("my-cnn {'split': 'validation', 'examples': 400, 'accuracy': ")
    bundle = tmp_path / "bundles" / "my-cnn"
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["preprocessing"]["maxLen"] == 48
    assert manifest["labels"] == ["World", "Sports", "Business", "Sci/Tech"]
    inspect = subprocess.run(["node", os.path.join(ROOT, "bin", "shipshape.js"), "inspect", str(bundle)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120, check=False)
    assert inspect.returncode == 0, inspect.stderr
    assert "valid: every file matches its sha256 and size" in inspect.stdout
