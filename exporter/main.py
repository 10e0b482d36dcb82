"""Command line: parse flags, load the config, then run the probe loop and the HTTP server."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import importlib
import logging
import os
import resource
import signal
import sys

from exporter import __version__, allocator, logs, messages
from exporter.config import EXAMPLE_CONFIG, Config, ConfigError, load_config
from exporter.eventloop import RESOLVER_THREADS, runner
from exporter.metrics import Metrics
from exporter.scheduler import Scheduler
from exporter.server import App, serve

log = logging.getLogger("spse_exporter")

DEFAULT_LISTEN = ":10040"
# Commands for the stack around the exporter, imported only when used.
SUBCOMMANDS = {"notify-test": "exporter.notifytest", "alertmanager-config": "exporter.receivers",
               "report": "exporter.report.cli", "doctor": "exporter.doctor"}
# --help lists them: argparse knows only the exporter's own flags.
COMMANDS_HELP = """commands (spse-exporter COMMAND --help for their flags):
  doctor               what this SPSE host depends on, fine or at risk, and what stops without international
                       links (--json); exit 1 when at risk
  notify-test          send a test notification through Alertmanager: TERKIRIM (DELIVERED) or why not
  report               draft the Berita Acara Gangguan and the public notice from Prometheus
  alertmanager-config  write alertmanager.yml with the receivers from TELEGRAM_*, SMTP_*, WEBHOOK_URL
Each command prints in Bahasa Indonesia unless --lang en (or SPSE_LANG=en) asks for English."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The flags, --lang resolved (--lang, else $SPSE_LANG, else id)."""
    parser = argparse.ArgumentParser(
        prog="spse-exporter",
        description="Prometheus exporter for SPSE sites: HTTP status, clock validation and upstream reachability.",
        epilog=COMMANDS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config.file", dest="config_file", default=None,
                        help=f"YAML config file (required; start from a copy of {EXAMPLE_CONFIG})")
    parser.add_argument("--web.listen-address", dest="listen", default=DEFAULT_LISTEN,
                        help="host:port to serve on (default %(default)s: every interface)")
    parser.add_argument("--web.config.file", dest="web_config_file", default=None,
                        help="exporter-toolkit web config: TLS and basic auth for the endpoints")
    parser.add_argument("--web.enable-lifecycle", dest="lifecycle", action="store_true",
                        help="allow POST /-/reload (SIGHUP always reloads)")
    parser.add_argument("--alertmanager.url", dest="alertmanager_url", default=os.environ.get("SPSE_ALERTMANAGER_URL"),
                        help="Alertmanager whose receivers to serve as spse_alertmanager_receiver_info, so "
                             "NotificationsFailing names them (default: $SPSE_ALERTMANAGER_URL; none: not served)")
    parser.add_argument("--log.level", dest="log_level", choices=sorted(logs.LEVELS), default="info")
    parser.add_argument("--log.format", dest="log_format", choices=("text", "json"), default="text")
    parser.add_argument("--check-config", dest="check_config", action="store_true",
                        help="validate the config file, print a summary and exit 0 (valid) or 2 (invalid)")
    messages.language_argument(parser)
    parser.add_argument("--version", action="version", version=f"spse-exporter {__version__}")
    args = parser.parse_args(argv)
    messages.resolve_language(parser, args)
    return args


def say(lang: str, code: str, **params) -> None:
    """One message of exporter/messages.py on stderr, in `lang`, after the command's name."""
    print(f"spse-exporter: {messages.render(code, lang, params)}", file=sys.stderr)


def split_listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise messages.Problem("listen_address_invalid", value=value)
    host = host.strip("[]")
    return host or "0.0.0.0", int(port)


class Exporter:
    """Owns the running config: reloads swap it only when the new file is valid."""

    def __init__(self, config_file: str, config: Config):
        self.config_file = config_file
        self.config = config
        self.metrics = Metrics()
        self.scheduler = Scheduler(self.metrics)
        self._reloading = asyncio.Lock()  # one reload at a time: the last one asked for reads the file last
        self._signalled: set[asyncio.Task] = set()

    def start(self) -> None:
        self.scheduler.apply(self.config)
        self.metrics.config_loaded(True)
        log.info("started: %s", self.config.summary())

    async def reload(self) -> str | None:
        """Load the config file again; on any error keep the running config and return the error.
        Read and validated in a thread: a slow disk or a big file must not hold up probes and scrapes."""
        async with self._reloading:
            try:
                config = await asyncio.to_thread(load_config, self.config_file)
            except Exception as err:  # ConfigError, or a bug in validating: the running config stays either way
                return self._reload_failed(err)
            try:
                self.scheduler.apply(config)
            except Exception as err:  # a bug in applying it: back to the last good config, whatever part changed
                self.scheduler.apply(self.config)
                return self._reload_failed(err)
            self.config = config
            self.metrics.config_loaded(True)
            log.info("config reloaded: %s", config.summary())
            return None

    def _reload_failed(self, err: Exception) -> str:
        if not isinstance(err, ConfigError):
            log.debug("config reload failed", exc_info=err)
            err = f"{self.config_file}: cannot load: {type(err).__name__}: {err}"
        message = " ".join(str(err).split())  # one log line, whatever the YAML error looks like
        self.metrics.config_loaded(False)
        log.error("config reload failed, keeping the previous config: %s", message)
        return message

    def reload_soon(self) -> None:
        """SIGHUP: reload in the background; a reload still running finishes first."""
        task = asyncio.create_task(self.reload(), name="reload")
        self._signalled.add(task)
        task.add_done_callback(self._signalled.discard)


def raise_open_files_limit() -> None:
    """Up to 1,024 connections and the probes' own sockets need more than the soft limit of 1,024 open files
    that systemd and containerd 2 give a service: raise it to the hard limit, as Go programs do at start."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as err:  # a hard limit the kernel will not grant as a soft one
            log.warning("cannot raise the open files limit from %d to %d: %s", soft, hard, err)


async def run(args: argparse.Namespace, config: Config) -> int:
    raise_open_files_limit()
    loop = asyncio.get_running_loop()
    # asyncio's loop resolves names in its default executor (uvloop in libuv's pool, sized in exporter.eventloop)
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(RESOLVER_THREADS, "resolver"))
    exporter = Exporter(args.config_file, config)
    ssl_context, authorize = None, None
    if args.web_config_file:
        from exporter.webconfig import WebConfigError, load_web_config
        try:
            web = load_web_config(args.web_config_file)
        except WebConfigError as err:
            say(args.lang, "config_invalid", error=err.render(args.lang))
            return 2
        ssl_context, authorize = web.ssl_context, web.authorize
    exposition = exporter.metrics.exposition
    refresh = None
    if args.alertmanager_url:
        from exporter.alertmanager_receivers import ReceiverInfo
        refresh = ReceiverInfo(args.alertmanager_url, exposition).refresh
    app = App(render_metrics=exposition.render, metrics_gzip_chunks=exposition.gzip_chunks, refresh=refresh,
              is_ready=exporter.scheduler.ready.is_set,
              reload=exporter.reload,
              last_results=exporter.metrics.last_results,
              authorize=authorize,
              lifecycle=args.lifecycle)
    try:
        host, port = split_listen_address(args.listen)
        server = await serve(host, port, app, ssl_context)
    except (OSError, ValueError) as err:
        detail = err.render(args.lang) if isinstance(err, messages.Problem) else err
        say(args.lang, "listen_failed", address=args.listen, detail=detail)
        return 1
    log.info("listening on %s:%d", *server.address)
    exporter.start()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGHUP, exporter.reload_soon)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.close()
    await exporter.scheduler.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        return module.main(argv[1:])
    allocator.keep_large_blocks_mapped()
    args = parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    if args.config_file is None:  # without a config the exporter probes nothing: it says what to configure instead
        say(args.lang, "no_config", example=EXAMPLE_CONFIG)
        return 2
    if not os.path.exists(args.config_file):  # the image bakes no config in: this names the mount
        say(args.lang, "missing_config", path=args.config_file, example=EXAMPLE_CONFIG)
        return 2
    try:
        config = load_config(args.config_file)
    except ConfigError as err:
        say(args.lang, "config_invalid", error=err.render(args.lang))
        print(messages.render("config_invalid_fix", args.lang), file=sys.stderr)
        return 2
    if args.check_config:
        print(config.summary(args.lang))
        return 0
    return runner()(run(args, config))
