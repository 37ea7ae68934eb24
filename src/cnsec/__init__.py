"""cnsec: one model of a cloud-native system, four pillars of security over it."""

__version__ = "0.1.0"
