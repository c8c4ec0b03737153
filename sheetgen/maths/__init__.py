"""The numbers, with no cells and no files: the article's neuron (``neuron``), a neuron of N
inputs (``neuron_n``), a network (``network``), gradient descent's options (``training``),
momentum, RMSProp and Adam with the error bounds of their steps (``optimizers``), and the
reference a layout is checked against (``models``).

The data's way starts here: every value a sheet must show is computed by this folder first.

May import: ``sheetgen.errors`` and the standard library; nothing else of sheetgen, and no
I/O.
"""
