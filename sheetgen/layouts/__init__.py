"""Where every number of a sheet lives: the layout descriptions (``layout``: the templates
shipped as ``sheetgen.templates``, a cell per quantity), the one registry of generated families
(``families``) and the families themselves (``neuron``, ``network``, ``training``,
``network_training``, and ``optimized`` for the training sheets stepped by momentum, RMSProp or
Adam), drawn with the grid helper (``grid``).

One layout drives both the builder and the verifier, so no cell address is typed in code.

May import: ``sheetgen.maths``, ``sheetgen.a1``, ``sheetgen.errors``.
"""
