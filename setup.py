"""Build hook for the optional native scorer; all metadata lives in pyproject.toml.

``proctor.detect._ngram`` (C, CPython API only) scores the injection classifier ~15x faster than the
pure-Python reference in ``injection_model.py``. It is optional: where no C compiler is available the build
goes on without it and Proctor uses the reference, with identical results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("proctor.detect._ngram", ["src/proctor/detect/_ngram.c"], optional=True,
                  extra_compile_args=["-O2"]),
    ],
)
