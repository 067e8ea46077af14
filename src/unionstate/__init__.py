"""unionstate: a reproducible report on Belarus–Russia integration, rebuilt from a poll dataset."""

__version__ = "0.1.0"
