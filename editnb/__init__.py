"""editnb: a Jupyter-first research workbook on knowledge editing of language models."""
__version__ = "0.1.0"
