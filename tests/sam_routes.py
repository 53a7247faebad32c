"""SAM's own route parser must see exactly the HTTP routes the local gateway serves.

Run by `make test` with the project's SAM CLI virtualenv: compares SAM's ApiProvider view of
template.yaml (method, path, function binary, authorizer on/off) with what
`local_stack --routes` prints from the same template.
"""

import subprocess
import sys

from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider


def sam_routes():
    stacks, _ = SamLocalStackProvider.get_stacks("template.yaml")
    resources = stacks[0].resources
    routes = set()
    for route in ApiProvider(stacks).routes:
        binary = resources[route.function_name]["Metadata"]["BuildProperties"]["Binary"]
        authorized = route.authorizer_name is not None
        for method in route.methods:
            # SAM adds OPTIONS to every route when the API has a CorsConfiguration (ours exists
            # only with WebClientOrigin set); API Gateway answers those preflights itself.
            if method == "OPTIONS":
                continue
            routes.add((method, route.path, binary, authorized))
    return routes


def gateway_routes(local_stack):
    out = subprocess.run([local_stack, "--routes"], check=True, capture_output=True, text=True).stdout
    routes = set()
    for line in out.splitlines():
        method, path, binary, auth = line.split()
        routes.add((method, path, binary, auth == "authorized"))
    return routes


def main():
    local_stack = sys.argv[1] if len(sys.argv) > 1 else "target/debug/local_stack"
    sam, ours = sam_routes(), gateway_routes(local_stack)
    if not sam:
        sys.exit("SAM found no routes: the check would prove nothing")
    if sam != ours:
        print("only SAM sees:", sorted(sam - ours))
        print("only the local gateway serves:", sorted(ours - sam))
        sys.exit(1)
    print(f"SAM and the local gateway agree on {len(sam)} HTTP routes")


if __name__ == "__main__":
    main()
