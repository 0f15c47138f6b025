"""The layout of kernels' inputs and outputs: evidence fields, column states.

Kept apart from the kernels so that reading evidence back (the gate) does not
compile or load them.
"""

#: Columns of the int64 ``counts`` array, in order.
EVIDENCE_COUNT_FIELDS = ("records", "nonmissing", "contributors", "negatives", "missing")
#: Columns of the float64 ``floats`` array, in order.
EVIDENCE_FLOAT_FIELDS = ("sum", "abs_sum", "min", "max")

#: Column states of the Gaussian-elimination kernel (``gauss_suppress``): decided by
#: the kernel, preset by the caller, or left alone.
PUBLISHED, PRIMARY, SECONDARY, IGNORED, UNDECIDED = 0, 1, 2, 3, 4
