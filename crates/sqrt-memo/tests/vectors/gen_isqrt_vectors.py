#!/usr/bin/env python3
"""Generates isqrt_vectors.txt: independent reference roots from Python's math.isqrt.

Each line: `<n> <digits> <floor(sqrt(n) * 10^digits)>`. Deterministic (fixed seed);
rerun with `python3 gen_isqrt_vectors.py > isqrt_vectors.txt`.
"""
import math
import random

rng = random.Random(20261125)
# The numbers of the original pymemcache demo, then edge cases and random sizes.
numbers = [
    9999999183838328567567689828757567669797060958585737272727311111199911188888889953113,
    9082782799999992727727272727272727272727272727838383285677272727399917272728373799422229,
    987773333733799999999475786161616373683838328567727272739991727272837378888888881322229,
    99999999999999999999998899919191919191919192828727737368383832856772727273999172727283737671626262269222848,
    991818178171928287277373683838328567727272739991727272837377827272727272727272727711119,
    0, 1, 2, 3, 4, 8, 10, 99, 100, 2**64 - 1, 2**64, 2**128 + 1, 10**100,
    (10**50 + 7) ** 2, (10**50 + 7) ** 2 - 1, (2**521 - 1) ** 2,
]
for size in (20, 60, 200, 500, 1200, 3000):
    for _ in range(3):
        numbers.append(rng.randrange(10 ** (size - 1), 10**size))
for n in numbers:
    for digits in (0, 1, 10, 57):
        print(n, digits, math.isqrt(n * 10 ** (2 * digits)))
