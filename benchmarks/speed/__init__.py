"""Speed: median check time per 1 KB prompt next to Presidio's pattern recognizers, linearity, adversarial input.

Run ``python -m benchmarks.speed`` (or ``make speed``); ``--help`` lists the options. The texts are generated
in ``inputs.py``, timed by ``measure.py`` and written up by ``report.py`` into ``benchmarks/RESULTS.md``.
"""
