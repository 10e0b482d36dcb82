"""The exporter's YAML config: load it, validate it, and the frozen model the scheduler and probes read.

`from exporter.config import Config, ConfigError, load_config` is the package's public face; each job lives in
its own module (load.py reads and validates).
"""

from exporter.config.load import (EXAMPLE_CONFIG, INDONESIAN_ZONES, MAX_CONFIG_BYTES, Check, ClockConfig, Config,
                                  ConfigError, DuplicateKeyError, Endpoint, HostTimeConfig, SpseConfig, Target,
                                  TimeSource, TLSConfig, UpstreamGroup, format_duration, is_ip_literal, load_config,
                                  make_ssl_context, parse_check, parse_config, parse_duration, parse_endpoint,
                                  parse_zone, secrets_in)

__all__ = ["EXAMPLE_CONFIG", "INDONESIAN_ZONES", "MAX_CONFIG_BYTES", "Check", "ClockConfig", "Config", "ConfigError",
           "DuplicateKeyError", "Endpoint", "HostTimeConfig", "SpseConfig", "Target", "TimeSource", "TLSConfig",
           "UpstreamGroup", "format_duration", "is_ip_literal", "load_config", "make_ssl_context", "parse_check",
           "parse_config", "parse_duration", "parse_endpoint", "parse_zone", "secrets_in"]
