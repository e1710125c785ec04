"""Entry point: `python -m evals.retrieval --dataset cranfield|vaswani`."""

from evals.retrieval.harness import main

if __name__ == "__main__":
    main()
