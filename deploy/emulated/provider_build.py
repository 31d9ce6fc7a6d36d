"""OpenTofu and the AWS provider, built from their Go modules and cached under .cache/.

Neither has a release this machine can download, but the Go module proxy serves both: OpenTofu
at its release tag, the provider at one exact development version (its version/VERSION says
6.47.1). Each is built as its own main module, in place in the module cache (so its `replace`
directives hold, which `go install` refuses).

The provider registers ~450 services from two generated files; compiling them all takes over an
hour on two cores. It is built from a copy of its module (.cache/tofu-providers/src-*) in which
those two files register only the services deploy/terraform uses (SERVICES): the resource code
itself is the provider's own, so every schema and behaviour we exercise is the real one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness.server_process import ROOT

TOFU_MODULE, TOFU_VERSION = "github.com/opentofu/opentofu", "v1.10.10"
PROVIDER_MODULE = "github.com/hashicorp/terraform-provider-aws"
PROVIDER_VERSION = "v1.60.1-0.20260602190131-5f2286d6d836"  # the only one the proxy serves
# The provider's service packages deploy/terraform's resources and data sources live in
# ("meta": aws_region, aws_partition). The SDK clients they need are found from their code.
SERVICES = (
    "appautoscaling", "cloudwatch", "ec2", "ecs", "elbv2", "iam", "logs", "meta",
    "servicediscovery", "ssm", "sts", "xray",
)  # fmt: skip
SERVICE_IMPORT = re.compile(r'"github.com/hashicorp/terraform-provider-aws/internal/service/(\w+)"')
CLIENT_CALL = re.compile(r"\.(\w+Client)\(ctx\)")
CLIENT_METHOD = re.compile(r"func \(c \*AWSClient\) (\w+)\(ctx context\.Context\) \*(\w+)\.Client")
CACHE = ROOT / ".cache"
REGISTRY = "registry.opentofu.org/hashicorp/aws"


def _go(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "CGO_ENABLED": "0"}
    done = subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"go {' '.join(args[:2])} failed in {cwd}:\n{done.stderr[-4000:]}")
    return done.stdout


def module_dir(module: str, version: str) -> Path:
    found = json.loads(_go(["mod", "download", "-json", f"{module}@{version}"], CACHE))
    return Path(found["Dir"])


def tofu() -> Path:
    """.cache/tofu/<version>/tofu, built once."""
    binary = CACHE / "tofu" / TOFU_VERSION / "tofu"
    if not binary.exists():
        source = module_dir(TOFU_MODULE, TOFU_VERSION)
        _go_build(f"OpenTofu {TOFU_VERSION}", binary, "./cmd/tofu", source)
    return binary


def provider_mirror() -> Path:
    """A filesystem mirror (OpenTofu's layout) holding the built provider, built once."""
    mirror = CACHE / "tofu-providers" / PROVIDER_VERSION
    source = module_dir(PROVIDER_MODULE, PROVIDER_VERSION)
    version = (source / "version" / "VERSION").read_text().strip()
    binary = mirror / REGISTRY / version / "linux_amd64" / f"terraform-provider-aws_v{version}"
    if not binary.exists():
        what = f"the AWS provider {version} ({len(SERVICES)} services)"
        _go_build(what, binary, ".", _trimmed_copy(source))
    return mirror


def _go_build(what: str, binary: Path, package: str, source: Path) -> None:
    print(f"deploy-plan: building {what} (cached after this run)...", file=sys.stderr, flush=True)
    start = time.monotonic()
    _go(["build", "-o", str(binary), package], source)
    seconds = time.monotonic() - start
    print(f"deploy-plan: building {what}: {seconds:.0f} s", file=sys.stderr, flush=True)


def _trimmed_copy(source: Path) -> Path:
    """A writable copy of the provider's module (Go refuses overlays of files in the module
    cache) with the two generated registration files trimmed to SERVICES."""
    copy = CACHE / "tofu-providers" / f"src-{PROVIDER_VERSION}"
    if copy.exists():
        shutil.rmtree(copy)
    # The module cache's files and folders are read-only; the copy's must be writable.
    shutil.copytree(source, copy, copy_function=shutil.copyfile)
    subprocess.run(["chmod", "-R", "u+w", str(copy)], check=True)
    registered = copy / "internal/provider/sdkv2/service_packages_gen.go"
    registered.write_text(_only_service_packages(registered.read_text()))
    clients = copy / "internal/conns/awsclient_gen.go"
    clients.write_text(_only_clients(clients.read_text(), _needed_clients(copy)))
    return copy


def _only_service_packages(text: str) -> str:
    """Keeps the imports of SERVICES' packages and their `x.ServicePackage(ctx),` lines."""

    def kept(line: str) -> bool:
        imported = re.search(r'internal/service/(\w+)"$', line)
        listed = re.match(r"\s+(\w+)\.ServicePackage\(ctx\),$", line)
        name = imported or listed
        return name is None or name.group(1) in SERVICES

    return "\n".join(filter(kept, text.splitlines())) + "\n"


def _only_clients(text: str, clients: set[str]) -> str:
    """Keeps the SDK imports and AWSClient methods of `clients` (SDK package names)."""
    head, _, methods = text.partition("\nfunc ")
    lines = [
        line
        for line in head.splitlines()
        if (m := re.search(r'aws-sdk-go-v2/service/(\w+)"$', line)) is None or m.group(1) in clients
    ]
    kept = [
        method
        for method in methods.split("\nfunc ")
        if (m := re.search(r"\*(\w+)\.Client \{", method)) is None or m.group(1) in clients
    ]
    return "\n".join(lines) + "\n\nfunc " + "\nfunc ".join(kept)


def _needed_clients(source: Path) -> set[str]:
    """The SDK client packages called by SERVICES, the service packages they import (e.g. ec2
    imports organizations), and conns itself."""
    generated = (source / "internal/conns/awsclient_gen.go").read_text()
    sdk_of = dict(CLIENT_METHOD.findall(generated))
    folders = [source / "internal/service" / name for name in _reached(source)]
    folders.append(source / "internal/conns")
    called = {
        method
        for folder in folders
        for path in folder.glob("*.go")
        if not path.name.endswith("_test.go") and path.name != "awsclient_gen.go"
        for method in CLIENT_CALL.findall(path.read_text())
    }
    return {sdk_of[method] for method in called if method in sdk_of}


def _reached(source: Path) -> set[str]:
    """SERVICES and every service package their non-test code imports, transitively."""
    reached, todo = set(SERVICES), list(SERVICES)
    while todo:
        for path in (source / "internal/service" / todo.pop()).glob("*.go"):
            if path.name.endswith("_test.go"):
                continue
            for imported in SERVICE_IMPORT.findall(path.read_text()):
                if imported not in reached:
                    reached.add(imported)
                    todo.append(imported)
    return reached


if __name__ == "__main__":
    print(tofu())
    print(provider_mirror())
