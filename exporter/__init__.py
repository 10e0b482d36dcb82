"""spse-exporter: watches an SPSE e-procurement site, its clock and its upstream network."""

__version__ = "0.1.0"
