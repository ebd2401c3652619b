"""Fixtures for the networked runtime's tests: flags as ``asfl run`` parses them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asfl import cli_run
from asfl.cli_deploy import default_flags
from asfl.cli_keygen import roster_flags
from asfl.impl.net.deploy import DeployConfig


def _deploy_config(workdir: Path, opts: dict[str, Any], **faults: Any) -> DeployConfig:
    return DeployConfig(cli_run.run_config(opts), roster_flags(opts), workdir, **faults)


@pytest.fixture
def flags() -> Callable[..., dict[str, Any]]:
    """``asfl run``'s option values with its defaults, then the keyword overrides."""
    return default_flags


@pytest.fixture
def deploy_config() -> Callable[..., DeployConfig]:
    """A :class:`DeployConfig` for a work directory, flags and fault options."""
    return _deploy_config
