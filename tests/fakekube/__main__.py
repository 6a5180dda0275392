"""Run the fake API server by hand: `python -m tests.fakekube --kubeconfig /tmp/fake.kubeconfig`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .server import FakeKubeServer


async def _main(kubeconfig: str, namespace: str) -> None:
    async with FakeKubeServer(namespace=namespace) as kube:
        path = kube.write_kubeconfig(kubeconfig)
        print(f"fakekube listening on {kube.url}; kubeconfig written to {path}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakekube")
    parser.add_argument("--kubeconfig", default="fakekube.kubeconfig")
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.kubeconfig, args.namespace))


if __name__ == "__main__":
    main()
