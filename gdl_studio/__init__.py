"""GDL Studio: generative deep learning for musicians and artists."""

__version__ = "0.1.0"
