# Validates workflow files against workflows/schema.json, reading YAML as editors do (YAML 1.2).
"""Usage: validate_schema.py [--expect-invalid] SCHEMA PATH...

PATH is a workflow file or a folder of them (*.yaml, *.yml). Exits 0 when every file fits the
schema (with --expect-invalid: when every file breaks it), 1 otherwise.

Besides the given files, checks that the schema itself is a valid draft 2020-12 schema. YAML is
read with YAML 1.2 core scalars (only true/false are booleans, no timestamps), as
yaml-language-server reads it, so `on:` stays a key and `yes` stays a string.
"""
import json
import os
import re
import sys

import jsonschema
import yaml


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's yes/no/on/off booleans and timestamps."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def workflow_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if name.endswith((".yaml", ".yml")):
                    yield os.path.join(path, name)
        else:
            yield path


def main(argv):
    expect_invalid = len(argv) > 1 and argv[1] == "--expect-invalid"
    if expect_invalid:
        argv = argv[:1] + argv[2:]
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.Draft202012Validator
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    files = list(workflow_files(argv[2:]))
    valid = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=Yaml12Loader)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print(f"{path}: {where}: {e.message}")
        if not errors:
            valid += 1
            print(f"{path}: ok")
    print(f"{valid} valid, {len(files) - valid} invalid")
    if not files:
        return 1
    return 0 if valid == (0 if expect_invalid else len(files)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
