"""The tool-discovery eval: recall@k, abstention and prompt tokens on MetaTool and on Tessera's own catalog.

Run it with `python -m evals.tools` (`tessera eval tools` calls exactly that).
"""
