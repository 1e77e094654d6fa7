"""Subcommands that are not a Hydra forecast run: scenarios, evidence, history, scheduled."""

from __future__ import annotations

import argparse

from .errors import InputError


def _parser(prog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"forecast {prog}", exit_on_error=False)


def cmd_scenarios(args: list[str]) -> int:
    from omegaconf import OmegaConf

    from .config import compose, list_scenarios

    for name in list_scenarios():
        sc = OmegaConf.to_container(compose([f"scenario={name}"]).scenario)
        print(f"{name:22s} {sc.get('title', '')}")
    return 0


def dispatch(cmd: str, args: list[str]) -> int:
    if cmd == "scenarios":
        return cmd_scenarios(args)
    if cmd == "evidence":
        from .evidence_cli import cmd_evidence

        return cmd_evidence(args)
    if cmd == "history":
        from .history import cmd_history

        return cmd_history(args)
    if cmd == "scheduled":
        from .scheduled import cmd_scheduled

        return cmd_scheduled(args)
    raise InputError("command line", f"unknown command {cmd!r}", "see forecast --help")

