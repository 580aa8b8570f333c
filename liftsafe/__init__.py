"""liftsafe: elevator safety supervision and 96333 emergency-response platform."""

__version__ = "0.1.0"
