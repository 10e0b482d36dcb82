"""The exporter's YAML config: load it, validate it, and the frozen model the scheduler and probes read.

`from exporter.config import Config, ConfigError, load_config` is the package's public face; each job has its own
module: load.py reads and validates, model.py the dataclasses, strict_yaml.py the YAML loader every config file
goes through, tls.py, secrets.py, network.py (and its one URL check), zones.py and durations.py.
"""

from exporter.config.durations import format_duration, parse_duration
from exporter.config.errors import ConfigError
from exporter.config.load import EXAMPLE_CONFIG, host_time_defaults, load_config, parse_check, parse_config
from exporter.config.model import (Check, ClockConfig, Config, Endpoint, HostTimeConfig, SpseConfig, Target,
                                   TimeSource, TLSConfig, UpstreamGroup)
from exporter.config.network import is_ip_literal, parse_endpoint
from exporter.config.secrets import secrets_in
from exporter.config.strict_yaml import MAX_CONFIG_BYTES
from exporter.config.tls import make_ssl_context
from exporter.config.zones import INDONESIAN_ZONES, parse_zone

__all__ = ["EXAMPLE_CONFIG", "INDONESIAN_ZONES", "MAX_CONFIG_BYTES", "Check", "ClockConfig", "Config", "ConfigError",
           "Endpoint", "HostTimeConfig", "SpseConfig", "Target", "TimeSource", "TLSConfig", "UpstreamGroup",
           "format_duration", "host_time_defaults", "is_ip_literal", "load_config", "make_ssl_context", "parse_check",
           "parse_config", "parse_duration", "parse_endpoint", "parse_zone", "secrets_in"]
