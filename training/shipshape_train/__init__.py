"""shipshape training side: corpus, tokenizer, vocabulary, models and the bundle exporter.

Run modules as ``PYTHONPATH=training /usr/bin/python3 -m shipshape_train.<module>``.
This package's ``__init__`` imports nothing heavy, so ``tokenizer``, ``vocab`` and
``tokenize_cli`` load without torch.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
