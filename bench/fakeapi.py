"""The fake kube-apiserver in its own process, with request counters readable over stdin/stdout.

Prints {"url", "port", "token", "kubeconfig"} once listening; then answers `counts` and `reset`
(which returns the counts it clears) commands and exits when stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bench.proc import raise_open_file_limit, read_commands, use_uvloop
from tests.fakekube import FakeKubeServer


def _print(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main(kubeconfig: str, namespace: str) -> None:
    async with FakeKubeServer(namespace=namespace) as kube:
        path = kube.write_kubeconfig(kubeconfig)
        _print({"url": kube.url, "port": kube.port, "token": kube.token, "kubeconfig": str(path)})
        async for command in read_commands():
            if command["cmd"] == "counts":
                _print({"counts": dict(kube.counts), "open_watches": kube.open_watches})
            elif command["cmd"] == "reset":
                counts = dict(kube.counts)
                kube.reset_counts()
                _print({"counts": counts})
            else:
                _print({"error": f"unknown command {command['cmd']!r}"})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.fakeapi")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args()
    raise_open_file_limit()
    use_uvloop()
    asyncio.run(main(args.kubeconfig, args.namespace))
