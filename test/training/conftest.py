"""Shared fixtures for the training-side tests.

Run: cd /work/main && PYTHONPATH=training /usr/bin/python3 -m pytest -q test/training
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINING = os.path.join(ROOT, "training")
if TRAINING not in sys.path:
    sys.path.insert(0, TRAINING)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def normalization_doc():
    from shipshape_train.normalization import build_normalization

    return build_normalization()
