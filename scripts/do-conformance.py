#!/usr/bin/env python3
"""Checks recorded DigitalOcean API exchanges against the official OpenAPI spec.

Input: JSON Lines written by the fake DigitalOcean (Tests/Support/FakeDigitalOcean, `startRecording`), one exchange per
line: method, path, query, request_body, status, response_headers, response_body, delivered.

For every exchange the request (otto's side) is validated with openapi-core: path, query parameters, body against the
operation's schema (discriminators included). For every answer that reached the client the response (the fake's side)
is validated too: status declared, body against the status's schema, rate-limit headers typed. On top of the schema,
a strict check flags object members the spec does not declare (where the schema lists properties and says nothing of
additional ones), so a misspelt or invented field in the fake cannot slip through.

The spec is multi-file with operation-level $refs (not valid OpenAPI 3.0 by itself): only the operations the fake
serves are loaded, each inlined with its relative $refs (and discriminator mappings) made absolute, so the rest of the
(large) spec is never read.

Usage: do-conformance.py [--spec ROOT.yaml] [--require "GET /v2/droplets,..."] FILE.jsonl...
Exit status: 0 when everything conforms, 1 on any violation (each printed), 2 on bad input.
"""
import argparse
import json
import os
import pathlib
import sys

import re

import yaml
from jsonschema_path import SchemaPath
from jsonschema_path.handlers.file import FileHandler
from jsonschema_path.handlers.urllib import UrllibHandler
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SERVER = "https://api.digitalocean.com"

# The operations the fake serves (and the provider uses).
PATHS = [
    "/v2/droplets",
    "/v2/droplets/{droplet_id}",
    "/v2/droplets/{droplet_id}/actions",
    "/v2/droplets/{droplet_id}/actions/{action_id}",
    "/v2/droplets/{droplet_id}/snapshots",
    "/v2/actions/{action_id}",
    "/v2/images",
    "/v2/images/{image_id}",
    "/v2/snapshots",
    "/v2/snapshots/{snapshot_id}",
    "/v2/tags",
    "/v2/tags/{tag_id}",
    "/v2/tags/{tag_id}/resources",
    "/v2/account/keys",
    "/v2/account/keys/{ssh_key_identifier}",
    "/v2/domains",
    "/v2/domains/{domain_name}",
    "/v2/domains/{domain_name}/records",
    "/v2/domains/{domain_name}/records/{domain_record_id}",
]


class Yaml12Loader(yaml.SafeLoader):
    """YAML as the spec's authors meant it (1.2 core schema): only true/false are booleans, so the droplet status
    enum's `off` stays the string "off" (PyYAML's 1.1 rules would read it as false), and timestamps stay strings."""


Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, regex) for tag, regex in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class CachedFiles:
    """Reads each referenced spec file once (the resolver asks again for every $ref it follows)."""

    def __init__(self):
        self.reader = UrllibHandler("file", file_handler=FileHandler(loader=Yaml12Loader))
        self.documents = {}

    def __call__(self, uri):
        if uri not in self.documents:
            document = self.reader(uri)
            mend = next((v for k, v in SPEC_MENDS.items() if uri.split("#")[0].endswith("/" + k)), None)
            if mend is not None:
                APPLIED_FIXES.add(mend[0])
                document = mend[1](document)
            self.documents[uri] = document
        return self.documents[uri]


def read_yaml(path):
    return yaml.load(path.read_text(), Loader=Yaml12Loader)


def default_spec():
    """OTTO_DO_SPEC, else the copy in the repository: the files of the official spec (digitalocean/openapi, at the
    commit in Tests/Fixtures/digitalocean-openapi/SOURCE, Apache 2.0) that the endpoints otto uses refer to."""
    here = pathlib.Path(__file__).resolve().parent.parent
    env = os.environ.get("OTTO_DO_SPEC")
    if env:
        return pathlib.Path(env)
    return here / "Tests" / "Fixtures" / "digitalocean-openapi" / "specification" / "DigitalOcean-public.v2.yaml"


# Defects of the spec itself, worked around with the narrowest change (each is printed when applied).
SPEC_FIXES = {
    # The path parameter reuses the `id` and `fingerprint` attribute schemas, which are readOnly; openapi-core rightly
    # refuses readOnly values in requests, so every GET/PUT/DELETE of a key would be flagged. Same schemas, not readOnly.
    "resources/ssh_keys/parameters/ssh_key_identifier.yml": (
        "ssh_key_identifier reuses readOnly schemas as a path parameter",
        {"in": "path", "name": "ssh_key_identifier", "required": True,
         "schema": {"anyOf": [{"type": "integer"}, {"type": "string"}]}},
    ),
}

# Defects inside a spec file, mended as the file is read (the file itself stays as published): file → (what, mend).
def _mend_tag_resources(tag):
    """The tag model declares the tagged images' statistics as `imgages`; its own examples and the API say `images`."""
    members = tag["properties"]["resources"]["allOf"][1]["properties"]
    if "imgages" in members and "images" not in members:
        members["images"] = members.pop("imgages")
    return tag


SPEC_MENDS = {
    "resources/tags/models/tags.yml": ("the tag model misspells `images` as `imgages` in resources", _mend_tag_resources),
}
APPLIED_FIXES = set()


def absolute(ref, base):
    """A $ref (or discriminator mapping) relative to file `base`, made absolute."""
    if "://" in ref:
        return ref
    if ref.startswith("#"):
        return base.as_uri() + ref
    target, _, fragment = ref.partition("#")
    uri = (base.parent / target).resolve().as_uri()
    return uri + ("#" + fragment if fragment else "")


def absolutize(node, base):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                target = absolute(value, base)
                fix = next((v for k, v in SPEC_FIXES.items() if target.endswith("/" + k)), None)
                if fix is not None:
                    APPLIED_FIXES.add(fix[0])
                    return fix[1]
                out[key] = target
            elif key == "mapping" and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                out[key] = {k: absolute(v, base) for k, v in value.items()}
            else:
                out[key] = absolutize(value, base)
        return out
    if isinstance(node, list):
        return [absolutize(item, base) for item in node]
    return node


def load(root):
    spec = read_yaml(root)
    paths = {}
    for path in PATHS:
        item = {}
        for method, operation in spec["paths"][path].items():
            if isinstance(operation, dict) and "$ref" in operation:
                target = (root.parent / operation["$ref"]).resolve()
                item[method] = absolutize(read_yaml(target), target)
            else:
                item[method] = absolutize(operation, root)
        paths[path] = item
    spec["paths"] = paths
    for key in ("tags", "x-tagGroups"):
        spec.pop(key, None)
    spec["components"] = absolutize(spec.get("components", {}), root)
    files = CachedFiles()
    handlers = {"<all_urls>": files, "file": files}
    return OpenAPI(SchemaPath.from_dict(spec, base_uri=root.as_uri(), handlers=handlers))


def errors_of(exc):
    """The innermost schema errors of an openapi-core exception, as short lines."""
    found = []
    seen = set()

    def walk(error, depth=0):
        if id(error) in seen or depth > 8:
            return
        seen.add(id(error))
        inner = list(getattr(error, "schema_errors", None) or [])
        cause = error.__cause__ or error.__context__
        if inner:
            for item in inner:
                path = "/".join(str(p) for p in getattr(item, "absolute_path", []))
                found.append(f"{path or '(root)'}: {getattr(item, 'message', item)}")
        elif cause is not None:
            walk(cause, depth + 1)
        else:
            found.append(str(error))

    walk(exc)
    return found or [repr(exc)]


def strict_members(schema, instance, where, problems, depth=0):
    """Flags members of `instance` that `schema` (a SchemaPath) does not declare."""
    if depth > 30:
        return
    if isinstance(instance, list):
        if "items" in schema:
            for index, item in enumerate(instance):
                strict_members(schema / "items", item, f"{where}[{index}]", problems, depth + 1)
        return
    if not isinstance(instance, dict):
        return
    declared = {}
    open_ended = False

    def collect(node, level=0):
        nonlocal open_ended
        if level > 12:
            return
        keys = set(node.keys())
        if "additionalProperties" in keys:
            open_ended = True
        if "properties" in keys:
            for name in (node / "properties").keys():
                declared.setdefault(name, node / "properties" / name)
        for combinator in ("allOf", "oneOf", "anyOf"):
            if combinator in keys:
                with (node / combinator).open() as members:
                    count = len(members)
                for index in range(count):
                    collect(node / combinator / index, level + 1)
        if not keys.intersection({"properties", "allOf", "oneOf", "anyOf", "$ref"}):
            open_ended = True  # `{}` or a bare `type: object`: anything goes

    collect(schema)
    if open_ended and not declared:
        return
    for name, value in instance.items():
        if name in declared:
            strict_members(declared[name], value, f"{where}.{name}", problems, depth + 1)
        elif not open_ended:
            problems.append(f"{where}.{name}: not declared by the spec")


def operation_schema(api, route, method, status, content_type="application/json"):
    responses = api.spec / "paths" / route / method / "responses"
    key = str(status) if str(status) in responses.keys() else "default"
    if key not in responses.keys():
        return None
    response = responses / key
    if "content" not in response.keys() or content_type not in (response / "content").keys():
        return None
    return response / "content" / content_type / "schema"


def request_schema(api, route, method):
    operation = api.spec / "paths" / route / method
    if "requestBody" not in operation.keys():
        return None
    content = operation / "requestBody" / "content"
    return content / "application/json" / "schema" if "application/json" in content.keys() else None


def check(api, exchange, number):
    problems = []
    method = exchange["method"].lower()
    path = exchange["path"]
    route = exchange.get("route")
    where = f"#{number} {exchange['method']} {path}"
    if not route:
        return [f"{where}: not an endpoint the fake serves (unknown route)"]
    body = exchange.get("request_body")
    data = json.dumps(body) if body is not None else None
    headers = {"Authorization": "Bearer conformance-check"}
    request = MockRequest(SERVER, method, path, args=exchange.get("query") or {}, headers=headers, data=data,
                          content_type="application/json" if data is not None else None)
    try:
        api.validate_request(request)
    except Exception as exc:  # noqa: BLE001 - every validation failure is reported
        problems += [f"{where} request: {line}" for line in errors_of(exc)]
    if body is not None and not problems:
        schema = request_schema(api, route, method)
        if schema is not None:
            found = []
            strict_members(schema, body, "body", found)
            problems += [f"{where} request: {line}" for line in found]
    if not exchange.get("delivered", True):
        return problems
    status = exchange["status"]
    response_body = exchange.get("response_body")
    response_headers = {k: v for k, v in (exchange.get("response_headers") or {}).items() if k != "content-type"}
    payload = json.dumps(response_body).encode() if response_body is not None else b""
    content_type = "application/json" if response_body is not None else None
    response = MockResponse(payload, status_code=status, headers=response_headers, content_type=content_type)
    try:
        api.validate_response(request, response)
    except Exception as exc:  # noqa: BLE001
        problems += [f"{where} response {status}: {line}" for line in errors_of(exc)]
    if response_body is not None:
        schema = operation_schema(api, route, method, status)
        if schema is not None:
            found = []
            strict_members(schema, response_body, "body", found)
            problems += [f"{where} response {status}: {line}" for line in found]
    for header in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
        if header not in (exchange.get("response_headers") or {}):
            problems.append(f"{where} response {status}: header {header} missing")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=pathlib.Path, default=default_spec(), help="the spec's root YAML file")
    parser.add_argument("--require", default="", help="comma-separated 'METHOD /route' that must appear")
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    args = parser.parse_args()
    if not args.spec.is_file():
        print(f"do-conformance: the DigitalOcean OpenAPI spec is not at {args.spec} (set --spec or OTTO_DO_SPEC)", file=sys.stderr)
        return 2
    api = load(args.spec)
    exchanges = []
    for file in args.files:
        for line_number, line in enumerate(file.read_text().splitlines(), 1):
            if line.strip():
                try:
                    exchanges.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    print(f"do-conformance: {file}:{line_number}: not JSON: {exc}", file=sys.stderr)
                    return 2
    problems = []
    covered = {}
    responses = 0
    for number, exchange in enumerate(exchanges, 1):
        problems += check(api, exchange, number)
        key = f"{exchange['method']} {exchange.get('route') or exchange['path']}"
        covered.setdefault(key, set()).add(exchange["status"] if exchange.get("delivered", True) else "lost")
        responses += 1 if exchange.get("delivered", True) else 0
    for required in filter(None, (r.strip() for r in args.require.split(","))):
        if required not in covered:
            problems.append(f"coverage: no exchange for {required}")
    for fix in sorted(APPLIED_FIXES):
        print(f"spec defect worked around: {fix}")
    for key in sorted(covered):
        print(f"covered {key}: {', '.join(sorted(str(s) for s in covered[key]))}")
    for problem in problems:
        print(f"VIOLATION {problem}")
    print(f"do-conformance: {len(exchanges)} requests and {responses} responses checked against {args.spec.name}: "
          f"{len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
