"""telestrations: a text-to-image model and a vision model play an endless game of Telestrations."""

__version__ = "0.1.0"
