"""Build hook for the optional native parts; all metadata lives in pyproject.toml.

Two small C extensions (CPython API only), each with a pure-Python reference that gives identical results:
``proctor.detect._ngram`` scores the injection classifier (the reference is ``injection_model.py``), and
``proctor.detect._digits`` finds the PII detector's numeric candidates (the reference is the regex in
``pii.py``); ``make speed`` times the detectors that use them. They are optional: where no C compiler is
available the build goes on without them.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("proctor.detect._ngram", ["src/proctor/detect/_ngram.c"], optional=True,
                  extra_compile_args=["-O2"]),
        Extension("proctor.detect._digits", ["src/proctor/detect/_digits.c"], optional=True,
                  extra_compile_args=["-O2"]),
    ],
)
